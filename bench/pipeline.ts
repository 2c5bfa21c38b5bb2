/**
 * Pipeline benchmark (issue 4 points 1 and 7; figures only, never pass/fail):
 *
 * 1. Memory while streaming a 1 GiB object from S3 to the temp dir: a 1 GiB file of random bytes is generated in a
 *    temp dir, uploaded with `@aws-sdk/lib-storage` (multipart) to s3rver running in a child process (so the
 *    server's own buffers are not counted), then the worker's `downloadVideo` streams it to disk while
 *    `process.memoryUsage()` is sampled every 50 ms; the peak deltas against the baseline are printed.
 * 2. The real pipeline end to end (in-process worker runtime built from a `worker` config, real s3rver, Azurite,
 *    Redis, ffmpeg, the real AI coordinator against the AI emulator answering in 1.5 s per call) on every sample of
 *    ../shared/samples/videos (skipping missing ones; the bad ones show their error code) and on a 60 s 1080p30
 *    H.264 clip rendered with the SOURCES.md recipe (`make1080pClip`). Per-stage timings from the stored result,
 *    end-to-end time from enqueue to the `succeeded` record, and vision calls per video before dedupe (keyframe
 *    candidates), after dedupe, and actually sent (counted by the emulator). Target: 60 s 1080p in < 30 s.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from '../services/platform/aws.ts';
import { loadConfig } from '../services/platform/config.ts';
import { createLogger } from '../services/platform/logger.ts';
import { createRedis } from '../services/platform/redis.ts';
import { AnalysisStore } from '../services/analyses/store.ts';
import { ANALYSIS_JOB_NAME, analysisJobOptions, createAnalysisQueue } from '../services/analyses/queue.ts';
import type { AnalysisRecord } from '../services/analyses/types.ts';
import { downloadVideo } from '../services/worker/video-download.ts';
import { startWorkerRuntime } from '../services/worker/worker-runtime.ts';
import { startDevStack } from '../devstack/stack.ts';
import { SAMPLES_DIR, samplePath } from '../devstack/samples.ts';
import { S3RVER_CREDENTIALS } from '../devstack/standins/s3.ts';
import { deleteKeysWithPrefix } from '../devstack/standins/redis.ts';
import { firstJsonLine, startModuleChild } from './child-process.ts';
import { make1080pClip } from './keyframes.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Latency of every AI emulator answer, ms (issue 4 point 7). */
const AI_LATENCY_MS = 1500;
const VISION_MODEL = 'Llama-3.2-90B-Vision-Instruct';

/** Memory figures of the 1 GiB download, bytes. */
export interface DownloadMemoryFigures {
  bytes: number;
  durationMs: number;
  peakRssDelta: number;
  peakHeapUsedDelta: number;
  peakExternalDelta: number;
  samples: number;
}

/** One row of the end-to-end table. */
export interface PipelineBenchRow {
  video: string;
  durationSec?: number;
  outcome: string;
  timingsMs: Record<string, number>;
  endToEndMs: number;
  candidates?: number;
  afterDedupe?: number;
  visionCalls: number;
}

/** Starts s3rver in a child process (its memory is not ours); resolves with its endpoint and a stop function. */
async function startS3Child(bucket: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const child = startModuleChild(
    `import { startS3 } from './devstack/standins/s3.ts'; const s = await startS3([${JSON.stringify(bucket)}]); console.log(JSON.stringify({ endpoint: s.endpoint })); process.once('SIGTERM', () => s.close().then(() => process.exit(0)));`,
  );
  try {
    return { endpoint: String((await firstJsonLine(child, 's3rver')).endpoint), stop: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/** Writes `bytes` of random data (a 1 MiB random block repeated with a counter, so no two MiB are equal). */
async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(MIB);
  const out = createWriteStream(path);
  for (let off = 0, i = 0; off < bytes; off += MIB, i++) {
    block.writeUInt32LE(i, 0);
    if (!out.write(Buffer.from(block.subarray(0, Math.min(MIB, bytes - off))))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
}

/** Item 1 of the module comment. */
export async function benchDownloadMemory(scratch: string, bytes = GIB): Promise<DownloadMemoryFigures> {
  const bucket = 'bench-memory';
  const s3d = await startS3Child(bucket);
  const s3 = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: s3d.endpoint, S3_FORCE_PATH_STYLE: true });
  try {
    const src = join(scratch, 'random-1gib.bin');
    let t = performance.now();
    await writeRandomFile(src, bytes);
    console.log(`  generated ${bytes / MIB} MiB of random bytes in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await new Upload({ client: s3, params: { Bucket: bucket, Key: 'big.bin', Body: createReadStream(src) }, partSize: 16 * MIB, queueSize: 4 }).done();
    console.log(`  uploaded it with lib-storage multipart (16 MiB parts, 4 in flight) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await rm(src);

    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    await new Promise((r) => setTimeout(r, 300));
    const base = process.memoryUsage();
    const peak = { rss: base.rss, heapUsed: base.heapUsed, external: base.external };
    let samples = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      samples++;
      peak.rss = Math.max(peak.rss, m.rss);
      peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
      peak.external = Math.max(peak.external, m.external);
    }, 50);
    const dest = join(scratch, 'downloaded.bin');
    let result;
    try {
      result = await downloadVideo(s3, bucket, 'big.bin', dest, 2 * GIB);
    } finally {
      clearInterval(sampler);
    }
    const written = (await stat(dest)).size;
    await rm(dest);
    const fig: DownloadMemoryFigures = {
      bytes: written,
      durationMs: result.durationMs,
      peakRssDelta: peak.rss - base.rss,
      peakHeapUsedDelta: peak.heapUsed - base.heapUsed,
      peakExternalDelta: peak.external - base.external,
      samples,
    };
    const mb = (n: number): string => `${(n / MIB).toFixed(1)} MiB`;
    console.log(`  downloadVideo: ${mb(fig.bytes)} in ${(fig.durationMs / 1000).toFixed(1)} s (${(fig.bytes / MIB / (fig.durationMs / 1000)).toFixed(0)} MiB/s), ${samples} samples every 50 ms${gc ? '' : ' (no --expose-gc: baseline after a 300 ms pause)'}`);
    console.log(`  baseline rss ${mb(base.rss)}, heapUsed ${mb(base.heapUsed)}, external ${mb(base.external)}`);
    console.log(`  peak delta: rss +${mb(fig.peakRssDelta)}, heapUsed +${mb(fig.peakHeapUsedDelta)}, external +${mb(fig.peakExternalDelta)}  (object: ${mb(bytes)})`);
    return fig;
  } finally {
    s3.destroy();
    await s3d.stop();
  }
}

/** Item 2 of the module comment. */
export async function benchEndToEnd(scratch: string): Promise<PipelineBenchRow[]> {
  const inputs: Array<[string, string]> = [];
  const names = (await readdir(SAMPLES_DIR).catch(() => [] as string[])).filter((n) => /\.(mp4|webm|mov|mkv|m4a)$/i.test(n)).sort();
  for (const n of names) {
    const p = samplePath(n);
    if (p) inputs.push([n, p]);
  }
  if (inputs.length === 0) console.log('  (../shared/samples/videos not found: samples skipped)');
  let t = performance.now();
  inputs.push(['60s-1080p30-h264.mp4', await make1080pClip(scratch)]);
  console.log(`  rendered the 60 s 1080p clip in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const stack = await startDevStack({ aiLatencyMs: AI_LATENCY_MS });
  const workDir = join(scratch, 'work');
  await mkdir(workDir);
  const queueName = 'bench-pipeline';
  const config = loadConfig('worker', { ...stack.env, LOG_LEVEL: 'info', QUEUE_NAME: queueName, DESIRED_STATE_FILE: 'desired-state/dev.yml', WORK_DIR: workDir, WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: '0' });
  // The worker's log lines, kept to read the keyframe counts of each analysis.
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const runtime = await startWorkerRuntime(config, createLogger('bench-worker', 'info', sink));
  const s3 = createS3Client(config);
  const general = createRedis(stack.redis.url, 'general');
  const producer = createRedis(stack.redis.url, 'producer');
  const store = new AnalysisStore(general, stack.keyPrefix, 3600);
  const queue = createAnalysisQueue(producer, stack.keyPrefix, queueName);
  const rows: PipelineBenchRow[] = [];
  try {
    for (const [label, path] of inputs) {
      const key = `uploads/bench-${randomBytes(6).toString('hex')}`;
      await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: createReadStream(path), ContentLength: (await stat(path)).size }));
      const visionBefore = stack.ai.calls.count({ route: 'chat/completions', model: VISION_MODEL });
      t = performance.now();
      const { record } = await store.create({ tenantId: 'bench', videoKey: key, tier: 'pro', options: {} });
      await queue.add(ANALYSIS_JOB_NAME, { analysisId: record.id, tenantId: 'bench', videoKey: key, options: {} }, { ...analysisJobOptions(1), jobId: record.id, priority: 5 });
      let rec: AnalysisRecord | undefined;
      for (;;) {
        rec = await store.get(record.id);
        if (rec && (rec.status === 'succeeded' || rec.status === 'failed')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const endToEndMs = performance.now() - t;
      // The record is written just before the worker logs its summary line: give the line a moment to arrive.
      const isSummary = (l: Record<string, unknown>): boolean => l.analysisId === record.id && (l.event === 'analysis_succeeded' || l.event === 'analysis_failed');
      for (let i = 0; i < 100 && !lines.some(isSummary); i++) await new Promise((r) => setTimeout(r, 20));
      const line = lines.find(isSummary);
      const timingsMs = (rec.result?.timingsMs ?? line?.timingsMs ?? {}) as Record<string, number>;
      const decoded = typeof line?.decodedKeyframes === 'number' ? line.decodedKeyframes : undefined;
      const sampled = typeof line?.sampledFrames === 'number' ? line.sampledFrames : 0;
      const dropped = typeof line?.droppedDuplicates === 'number' ? line.droppedDuplicates : 0;
      rows.push({
        video: label,
        ...(rec.result ? { durationSec: rec.result.video.durationSec } : {}),
        outcome: rec.status === 'succeeded' ? 'ok' : (rec.error?.code ?? 'failed'),
        timingsMs,
        endToEndMs,
        ...(decoded !== undefined ? { candidates: decoded + sampled, afterDedupe: decoded + sampled - dropped } : {}),
        visionCalls: stack.ai.calls.count({ route: 'chat/completions', model: VISION_MODEL }) - visionBefore,
      });
    }
  } finally {
    await runtime.stop(10_000);
    await queue.close();
    producer.disconnect();
    await deleteKeysWithPrefix(general, stack.keyPrefix);
    general.disconnect();
    s3.destroy();
    await stack.close();
  }
  const cols = ['download', 'probe', 'keyframes', 'upload', 'vision', 'report', 'store', 'total'] as const;
  console.log('');
  console.log(`  AI emulator latency ${AI_LATENCY_MS} ms per call, VISION_CONCURRENCY ${config.VISION_CONCURRENCY}, KEYFRAMES_MAX ${config.KEYFRAMES_MAX}; times in ms`);
  console.log(`  ${'video'.padEnd(26)} ${'len s'.padStart(6)} ${'outcome'.padEnd(16)} ${cols.map((c) => c.padStart(9)).join(' ')} ${'e2e'.padStart(7)} | frames: cand  dedup  vision calls`);
  for (const r of rows) {
    console.log(
      `  ${r.video.padEnd(26)} ${(r.durationSec?.toFixed(1) ?? '-').padStart(6)} ${r.outcome.padEnd(16)} ${cols.map((c) => String(r.timingsMs[c] ?? '-').padStart(9)).join(' ')} ${r.endToEndMs.toFixed(0).padStart(7)} |` +
        ` ${String(r.candidates ?? '-').padStart(11)} ${String(r.afterDedupe ?? '-').padStart(6)} ${String(r.visionCalls).padStart(12)}`,
    );
  }
  const big = rows.find((r) => r.video.startsWith('60s-1080p'));
  if (big) console.log(`\n  60 s 1080p clip end to end: ${(big.endToEndMs / 1000).toFixed(1)} s (target < 30 s on 2 cores: ${big.outcome === 'ok' && big.endToEndMs < 30_000 ? 'met' : 'NOT met'})`);
  return rows;
}


/** `npm run bench -- pipeline`: both parts, in a scratch dir removed at the end. */
export async function benchPipeline(): Promise<void> {
  // The SDK's default credential chain (used by the worker's S3 client) needs s3rver's public development pair,
  // as the test harness and `npm run demo` give it.
  process.env.AWS_ACCESS_KEY_ID ??= S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= S3RVER_CREDENTIALS.secretAccessKey;
  const scratch = await mkdtemp(join(tmpdir(), 'ct-bench-pipeline-'));
  try {
    console.log('  -- memory: streaming a 1 GiB S3 object to the temp dir');
    await benchDownloadMemory(scratch);
    console.log('\n  -- end to end through the worker');
    await benchEndToEnd(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
