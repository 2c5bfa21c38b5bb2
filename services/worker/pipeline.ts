/**
 * The video-analysis pipeline of one job attempt (DESIGN §5):
 * download (S3 → per-job temp dir, streamed) → probe (ffprobe, limits) → keyframes (key-frame decode that is also
 * the integrity check; dHash dedupe) → upload (Azure Blob, MD5) → vision (one call per keyframe, bounded) →
 * report (one text call, schema-validated) → store (record `succeeded`) → cleanup.
 *
 * Outcomes:
 * - a bad video, a missing upload or any other {@link TerminalError} → record `failed` with its code and
 *   message, and BullMQ's `UnrecoverableError` so no attempt follows;
 * - anything else (S3/Blob/AI outages, quota, the job timeout) → the error is rethrown for BullMQ to retry with
 *   backoff; the record keeps the last error and stays `queued` until the last attempt, where it turns `failed`.
 * Idempotency by content (content-reuse.ts): a tenant's upload whose bytes (SHA-256, hashed while streaming) and
 * effective options match an analysis that already succeeded gets that analysis's result right after the download,
 * with no model call and its own copies of the keyframes. Otherwise the attempt claims the content before any work
 * (content-claim.ts); when another analysis of the same content holds the claim, the attempt stops with
 * {@link ContentBusyError} (the record goes back to `queued`, nothing is cleaned up but the temp dir) and worker.ts
 * delays the job, whose next delivery knows the hash and decides before downloading again.
 * Cleanup, in `finally`: the temp dir always; the S3 temp object once the outcome is final (success, terminal
 * failure or the last attempt: deleting it before a retry would make the retry fail for want of its input; the
 * bucket's lifecycle rule is the backstop); the keyframe blobs of an analysis that finally failed.
 * A re-delivered job whose analysis already succeeded (stalled-job recovery after the record was written)
 * returns the stored result and only cleans up, so an analysis finishes once; a re-delivered job also removes the
 * temp dirs its killed predecessor left in WORK_DIR, and keeps the keyframe blobs it already wrote (conditional
 * uploads, keyframe-store.ts).
 *
 * Everything outside is injected ({@link PipelineDeps}), including the AI coordinator, so tests can run the real
 * pipeline against stand-ins.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { UnrecoverableError } from 'bullmq';
import { AppError, NotFoundError, QuotaExceededError, TerminalError, ValidationError, errorMessage } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { AnalysisStore } from '../analyses/store.ts';
import type { AnalysisJobData, AnalysisResult, AnalysisStep, KeyframeInfo, ModelCallRecord, VideoFacts } from '../analyses/types.ts';
import type { AiCoordinator, CallContext } from '../ai/types.ts';
import { probeVideo, type VideoLimits } from '../media/probe.ts';
import { extractKeyframes } from '../media/keyframes.ts';
import { mapBounded } from './bounded-map.ts';
import { raceAbort, throwIfAborted } from './abortable.ts';
import { optionsHash, type ContentIndex } from '../analyses/content-index.ts';
import type { ContentClaims, ContentLease } from './content-claim.ts';
import { ContentBusyError, passContentGate, reusedResult, type ReusableRecord } from './content-reuse.ts';
import { createJobDir, removeJobDir, removeStaleJobDirsOf } from './job-dirs.ts';
import { deleteKeyframes, SourceKeyframeMissingError, uploadKeyframes } from './keyframe-store.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { acceptReport, KEYFRAME_MAX_TOKENS, KEYFRAME_PROMPT, REPORT_MAX_TOKENS, reportPrompt, TREND_REPORT_MODEL_SCHEMA, TREND_REPORT_SCHEMA_NAME } from './trend-report.ts';
import { deleteVideo, downloadVideo } from './video-download.ts';

/** Limits of one analysis. */
export interface PipelineLimits {
  video: VideoLimits;
  /** Upper bound on keyframes (KEYFRAMES_MAX); an analysis may ask for fewer, never more. */
  maxKeyframes: number;
  /** Vision calls in flight per job (VISION_CONCURRENCY). */
  visionConcurrency: number;
  /** Blob uploads in flight per job. */
  uploadConcurrency: number;
  /** ffprobe wall-clock limit, ms. */
  probeTimeoutMs: number;
  /** Limit of each ffmpeg run, ms (the job timeout bounds the sum). */
  ffmpegTimeoutMs: number;
}

/** Everything the pipeline talks to. */
export interface PipelineDeps {
  s3: S3Client;
  /** The S3 temp bucket of uploads (S3_TEMP_BUCKET). */
  bucket: string;
  /** The keyframes container (KEYFRAMES_CONTAINER), which must exist. */
  keyframes: ContainerClient;
  ai: AiCoordinator;
  store: AnalysisStore;
  /** Content → analyses index (idempotency by content). */
  contents: ContentIndex;
  /** Claims on content, so that concurrent analyses of the same content do the work once. */
  claims: ContentClaims;
  logger: Logger;
  limits: PipelineLimits;
  /** Parent of per-job temp dirs (WORK_DIR). */
  workDir: string;
}

/** The attempt being run. */
export interface AttemptContext {
  /** Aborts every step (job timeout); its `reason` becomes the attempt's error. */
  signal: AbortSignal;
  /** 1-based attempt number. */
  attempt: number;
  /** Attempts BullMQ will make in all (JOB_ATTEMPTS). */
  maxAttempts: number;
}

/** Overall percent reached when each step starts (vision advances from 40 to 80 as frames finish). */
const STEP_PERCENT: Readonly<Record<AnalysisStep, number>> = {
  download: 2, probe: 10, keyframes: 15, upload: 30, vision: 40, report: 80, store: 95, cleanup: 98,
};

/** The error code and message recorded for a failure; never a stack, never a local temp path. */
export function failureOf(err: unknown): { code: string; message: string } {
  const scrub = (m: string): string => m.replace(/(?:file:)?\/\S*ct-job-[^\s'":]*/g, '<temp>');
  if (err instanceof AppError) return { code: err.code, message: scrub(err.message) };
  return { code: 'internal_error', message: scrub(errorMessage(err)) };
}

/**
 * True when no retry can change the outcome (bad input, a refused request, a record that no longer exists, or the
 * tenant's daily AI budget spent: it stays spent until the next UTC midnight, far past any retry's backoff).
 */
export function isTerminal(err: unknown): boolean {
  if (err instanceof QuotaExceededError) return err.code === 'budget_exceeded';
  return err instanceof TerminalError || err instanceof ValidationError || err instanceof NotFoundError || err instanceof UnrecoverableError;
}

/**
 * Checks the job payload (it crossed Redis, so it is input like any other).
 * @throws UnrecoverableError `invalid_job` naming the bad fields.
 */
export function assertJobData(data: unknown): asserts data is AnalysisJobData {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const bad: string[] = [];
  for (const k of ['analysisId', 'tenantId', 'videoKey']) {
    const v = d[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) bad.push(k);
  }
  const opts = d.options;
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) bad.push('options');
  else {
    const max = (opts as { maxKeyframes?: unknown } | undefined)?.maxKeyframes;
    if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 1)) bad.push('options.maxKeyframes');
  }
  if (d.contentSha256 !== undefined && !(typeof d.contentSha256 === 'string' && /^[0-9a-f]{64}$/.test(d.contentSha256))) bad.push('contentSha256');
  if (bad.length > 0) throw new UnrecoverableError(`invalid_job: job data field(s) ${bad.join(', ')} missing or invalid`);
}

/**
 * Runs one attempt of an analysis.
 * @returns the stored result.
 * @throws UnrecoverableError (message `<code>: <message>`) for terminal failures; the original error for
 *   retryable ones (after recording it).
 */
export async function runAnalysis(data: AnalysisJobData, deps: PipelineDeps, ctx: AttemptContext): Promise<AnalysisResult> {
  assertJobData(data);
  const { analysisId, tenantId, videoKey } = data;
  const { signal } = ctx;
  const log = deps.logger.child({ analysisId, tenantId, attempt: ctx.attempt });
  const started = Date.now();
  const timingsMs: AnalysisResult['timingsMs'] = {};

  // Dirs of an earlier attempt of this analysis whose worker was killed: ours now (we hold the job lock).
  const stale = await removeStaleJobDirsOf(deps.workDir, analysisId).catch((err: unknown) => {
    log.warn({ err: errorMessage(err) }, 'stale temp dir removal failed');
    return [];
  });
  if (stale.length > 0) log.warn({ event: 'stale_job_dirs_removed', count: stale.length }, 'removed temp dirs of an earlier attempt');

  const existing = await deps.store.get(analysisId);
  if (!existing) {
    await deleteVideo(deps.s3, deps.bucket, videoKey).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'temp object delete failed'));
    log.warn('analysis record not found (expired or erased): job dropped');
    throw new UnrecoverableError(`analysis_not_found: analysis ${analysisId} does not exist`);
  }
  if (existing.status === 'succeeded' && existing.result) {
    await deleteVideo(deps.s3, deps.bucket, videoKey).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'temp object delete failed'));
    log.info('analysis already succeeded: re-delivered job only cleaned up');
    return existing.result;
  }

  const progress = new ProgressReporter(deps.store, analysisId, log);
  let stepStarted = Date.now();
  let current: AnalysisStep = 'download';
  const step = (name: AnalysisStep): void => {
    throwIfAborted(signal);
    timingsMs[current] = (timingsMs[current] ?? 0) + (Date.now() - stepStarted);
    current = name;
    stepStarted = Date.now();
    progress.report(name, STEP_PERCENT[name]);
  };

  let dir: string | undefined;
  let final = false;
  let succeeded = false;
  let lease: ContentLease | undefined;
  const maxKeyframes = Math.max(1, Math.min(data.options?.maxKeyframes ?? deps.limits.maxKeyframes, deps.limits.maxKeyframes));
  const optsHash = optionsHash({ maxKeyframes });

  /** Finishes this analysis with `prior`'s result (keyframes copied under our prefix). */
  const reuse = async (prior: ReusableRecord, sha256: string): Promise<AnalysisResult> => {
    step('upload');
    const result = await reusedResult(deps.keyframes, prior, analysisId, timingsMs, { concurrency: deps.limits.uploadConcurrency, signal });
    step('store');
    timingsMs[current] = Date.now() - stepStarted;
    timingsMs.total = Date.now() - started;
    await progress.flush();
    await deps.store.complete(analysisId, result);
    final = true;
    succeeded = true;
    await deps.contents.remember(tenantId, sha256, optsHash, analysisId).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'content index update failed'));
    log.info({ event: 'analysis_succeeded', reusedFrom: prior.id, timingsMs, keyframes: result.keyframes.length, modelCalls: 0, costUsd: 0 }, 'analysis succeeded by reusing the analysis of the same content');
    return result;
  };

  /**
   * Passes the content gate for `sha256`: the reused result, `undefined` when this attempt holds the claim and runs
   * the pipeline (`lease` set), or throws ContentBusyError when another analysis of the content is running.
   */
  const gate = async (sha256: string): Promise<AnalysisResult | undefined> => {
    let skipLookup = false;
    for (;;) {
      const decision = await passContentGate(deps, { tenantId, sha256, optsHash }, analysisId, log, { skipLookup });
      if (decision.kind === 'run') {
        lease = decision.lease;
        return undefined;
      }
      if (decision.kind === 'wait') throw new ContentBusyError(decision.ownerId, decision.retryInMs, sha256);
      try {
        return await reuse(decision.prior, sha256);
      } catch (err) {
        if (!(err instanceof SourceKeyframeMissingError)) throw err;
        // Erased while we copied: drop our partial copies and do the work ourselves.
        log.info({ event: 'reuse_source_gone', priorId: decision.prior.id }, 'the analysis to reuse was erased meanwhile: running the pipeline');
        await deleteKeyframes(deps.keyframes, analysisId);
        skipLookup = true;
      }
    }
  };

  try {
    await deps.store.markRunning(analysisId);
    step('download');
    // A job delayed while another analysis of the same content ran knows the hash: reuse or wait again without
    // downloading the video again (it is the same S3 object whose bytes were hashed).
    if (data.contentSha256) {
      const reused = await gate(data.contentSha256);
      if (reused) return reused;
    }
    dir = await createJobDir(deps.workDir, analysisId);
    const videoPath = join(dir, 'video');
    const download = await downloadVideo(deps.s3, deps.bucket, videoKey, videoPath, deps.limits.video.maxBytes, signal);
    log.debug({ bytes: download.bytes, ms: download.durationMs }, 'video downloaded');

    // Before any work: reuse an analysis of the same bytes and options, wait for a running one, or claim the content.
    if (!lease || download.sha256 !== data.contentSha256) {
      await lease?.release();
      lease = undefined;
      const reused = await gate(download.sha256);
      if (reused) return reused;
    }

    step('probe');
    const probe = await probeVideo(videoPath, deps.limits.video, { timeoutMs: deps.limits.probeTimeoutMs, signal });
    const video: VideoFacts = {
      container: probe.container, codec: probe.codec, width: probe.width, height: probe.height,
      durationSec: probe.durationSec, bytes: probe.bytes, hasAudio: probe.hasAudio,
    };

    step('keyframes');
    const framesDir = join(dir, 'frames');
    await mkdir(framesDir);
    const extraction = await extractKeyframes(videoPath, probe, { outDir: framesDir, maxKeyframes, timeoutMs: deps.limits.ffmpegTimeoutMs, signal });
    const frames = extraction.frames;

    step('upload');
    const uploaded = await uploadKeyframes(deps.keyframes, analysisId, frames, { concurrency: deps.limits.uploadConcurrency, signal });

    step('vision');
    const context: CallContext = { tenantId, analysisId };
    let done = 0;
    const vision = await mapBounded(
      frames,
      deps.limits.visionConcurrency,
      async (f) => {
        const image = await readFile(f.path);
        const r = await raceAbort(deps.ai.describeImage({ image, mimeType: 'image/jpeg', prompt: KEYFRAME_PROMPT, context, maxTokens: KEYFRAME_MAX_TOKENS }), signal);
        done++;
        progress.report('vision', STEP_PERCENT.vision + ((STEP_PERCENT.report - STEP_PERCENT.vision) * done) / frames.length);
        return r;
      },
      signal,
    );

    step('report');
    const notes = frames.map((f, i) => ({ index: f.index, timestampSec: f.timestampSec, note: vision[i]!.text.trim() }));
    const prompt = reportPrompt(video, notes);
    const answer = await raceAbort(
      deps.ai.generateJson({ ...prompt, schema: TREND_REPORT_MODEL_SCHEMA, schemaName: TREND_REPORT_SCHEMA_NAME, context, maxTokens: REPORT_MAX_TOKENS }),
      signal,
    );
    const report = acceptReport(answer.json, notes, video.durationSec);

    step('store');
    const keyframes: KeyframeInfo[] = frames.map((f, i) => ({
      index: f.index, timestampSec: f.timestampSec, blobName: uploaded[i]!.blobName,
      width: f.width, height: f.height, bytes: f.bytes, note: notes[i]!.note,
    }));
    const modelCalls: ModelCallRecord[] = [...vision.map((v) => v.record), ...answer.records];
    timingsMs[current] = Date.now() - stepStarted;
    timingsMs.total = Date.now() - started;
    const result: AnalysisResult = {
      video,
      keyframes,
      modelCalls,
      report: report as unknown as Record<string, unknown>,
      totalCostUsd: Math.round(modelCalls.reduce((s, c) => s + c.costUsd, 0) * 1e6) / 1e6,
      timingsMs,
    };
    // The calls' usage, cost and cache erasure index are written after they return: in Redis before the result is
    // visible, so the analysis's usage matches its totalCostUsd and an erasure right after finds every cache entry.
    await deps.ai.settle();
    await progress.flush();
    await deps.store.complete(analysisId, result);
    final = true;
    succeeded = true;
    // Indexed before the claim is released (finally), so a waiter that finds the claim gone finds the result.
    await deps.contents.remember(tenantId, download.sha256, optsHash, analysisId).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'content index update failed (the next same upload runs again)'));
    log.info(
      {
        event: 'analysis_succeeded', timingsMs, keyframes: keyframes.length, keyframePlan: extraction.plan, ffmpegRuns: extraction.passes, decodedKeyframes: extraction.decodedKeyframes,
        sampledFrames: extraction.sampledFrames, droppedDuplicates: extraction.droppedDuplicates, modelCalls: modelCalls.length,
        costUsd: result.totalCostUsd,
      },
      'analysis succeeded',
    );
    return result;
  } catch (caught) {
    if (caught instanceof ContentBusyError) {
      await progress.flush();
      await deps.store.defer(analysisId).catch((e: unknown) => log.error({ err: errorMessage(e) }, 'could not put the record back to queued'));
      log.info({ event: 'analysis_deferred', ownerId: caught.ownerId, retryInMs: caught.retryInMs }, 'the same content is being analysed by another analysis: waiting for its result');
      throw caught;
    }
    const err = signal.aborted && !(caught instanceof TerminalError) ? signal.reason : caught;
    const terminal = isTerminal(err);
    final = terminal || ctx.attempt >= ctx.maxAttempts;
    const failure = failureOf(err);
    timingsMs[current] = (timingsMs[current] ?? 0) + (Date.now() - stepStarted);
    timingsMs.total = Date.now() - started;
    await deps.ai.settle(); // the usage and cache index of the calls that did answer, before the failure is visible
    await progress.flush();
    await deps.store.fail(analysisId, failure, final).catch((e: unknown) => log.error({ err: errorMessage(e) }, 'could not record the failure'));
    log[terminal ? 'info' : 'warn'](
      { event: 'analysis_failed', step: current, code: failure.code, error: failure.message, final, retry: !final, timingsMs },
      final ? 'analysis failed' : 'analysis attempt failed; BullMQ retries it',
    );
    if (terminal) throw err instanceof UnrecoverableError ? err : new UnrecoverableError(`${failure.code}: ${failure.message}`);
    throw err;
  } finally {
    const cleanupStarted = Date.now();
    if (lease) await lease.release().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'content claim release failed (it expires by itself)'));
    if (dir) await removeJobDir(dir).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'temp dir removal failed'));
    if (final) {
      await deleteVideo(deps.s3, deps.bucket, videoKey).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'temp object delete failed (the bucket lifecycle rule will expire it)'));
      if (!succeeded) {
        await deleteKeyframes(deps.keyframes, analysisId).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'keyframe blob cleanup failed'));
      }
    }
    log.debug({ ms: Date.now() - cleanupStarted, final }, 'cleanup done');
  }
}
