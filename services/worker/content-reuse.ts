/**
 * The content gate of one analysis attempt: given the SHA-256 of the video and the effective options, decide
 * whether to reuse an earlier analysis of the same content, wait for one that is running, or run the pipeline.
 *
 * 1. Reuse when the content index (services/analyses/content-index.ts) names a succeeded analysis of the same
 *    tenant: no claim needed, any number of analyses may reuse at once.
 * 2. Else claim the content (content-claim.ts). Held by another analysis → wait: the caller throws
 *    {@link ContentBusyError} and the BullMQ processor puts the job back as delayed (worker.ts), to come back and
 *    reuse that one's result, or take the claim over once its owner has died.
 * 3. Ours → look at the index once more (the owner may have finished between 1 and 2, releasing its claim after
 *    indexing its result) and reuse if it now can; else run the pipeline, holding the claim.
 *
 * {@link reusedResult} builds the reusing analysis's result: the prior one's report with no model call, and keyframes
 * copied to the reusing analysis's own blob prefix (keyframe-store.ts), so erasing either analysis leaves the other
 * whole.
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { AnalysisStore } from '../analyses/store.ts';
import type { ContentIndex } from '../analyses/content-index.ts';
import type { AnalysisRecord, AnalysisResult } from '../analyses/types.ts';
import type { Logger } from '../platform/logger.ts';
import type { ClaimedContent, ContentClaims, ContentLease } from './content-claim.ts';
import { copyKeyframes } from './keyframe-store.ts';

/** A succeeded analysis with its result. */
export type ReusableRecord = AnalysisRecord & { result: AnalysisResult };

/** What {@link passContentGate} decided. */
export type GateDecision =
  | { kind: 'reuse'; prior: ReusableRecord }
  | { kind: 'wait'; ownerId: string; retryInMs: number }
  | { kind: 'run'; lease: ContentLease };

/**
 * Thrown out of the pipeline when another analysis holds the claim on the same content: not a failure, the job is
 * to be delayed by `retryInMs` and tried again. `sha256` goes into the job data, so the next delivery can decide
 * before downloading the video again.
 */
export class ContentBusyError extends Error {
  readonly ownerId: string;
  readonly retryInMs: number;
  readonly sha256: string;
  constructor(ownerId: string, retryInMs: number, sha256: string) {
    super(`analysis ${ownerId} is analysing the same content; waiting ${retryInMs} ms for its result`);
    this.name = 'ContentBusyError';
    this.ownerId = ownerId;
    this.retryInMs = retryInMs;
    this.sha256 = sha256;
  }
}

/** What the gate reads and writes. */
export interface GateDeps {
  store: AnalysisStore;
  contents: ContentIndex;
  claims: ContentClaims;
}

/**
 * The newest analysis of this content that `analysisId` may reuse, or `undefined`. Index members whose record is
 * gone (expired, erased) are dropped from the index on the way.
 */
export async function findReusable(deps: GateDeps, content: ClaimedContent, analysisId: string): Promise<ReusableRecord | undefined> {
  const ids = (await deps.contents.lookup(content.tenantId, content.sha256, content.optsHash)).filter((id) => id !== analysisId);
  if (ids.length === 0) return undefined;
  const records = await deps.store.getMany(ids);
  const gone = ids.filter((_, i) => records[i] === undefined);
  await deps.contents.drop(content.tenantId, content.sha256, content.optsHash, gone);
  return records.find((r): r is ReusableRecord => r !== undefined && r.tenantId === content.tenantId && r.status === 'succeeded' && r.result !== undefined);
}

/**
 * Decides as described in the module comment.
 * @param o.skipLookup claim without looking for a reusable analysis (the last one found could not be reused).
 */
export async function passContentGate(deps: GateDeps, content: ClaimedContent, analysisId: string, log: Logger, o: { skipLookup?: boolean } = {}): Promise<GateDecision> {
  if (!o.skipLookup) {
    const prior = await findReusable(deps, content, analysisId);
    if (prior) return { kind: 'reuse', prior };
  }
  const claim = await deps.claims.acquire(content, analysisId, log);
  if (!claim.owned) {
    // Come back after the usual delay, or sooner when the claim expires sooner (its owner may have died).
    const retryInMs = Math.max(1, Math.min(deps.claims.settings.retryDelayMs, claim.ttlMs > 0 ? claim.ttlMs + 10 : deps.claims.settings.retryDelayMs));
    return { kind: 'wait', ownerId: claim.ownerId, retryInMs };
  }
  if (!o.skipLookup) {
    const prior = await findReusable(deps, content, analysisId);
    if (prior) {
      await claim.lease.release();
      return { kind: 'reuse', prior };
    }
  }
  return { kind: 'run', lease: claim.lease };
}

/**
 * The result of `analysisId` reusing `prior`: the same video facts, report and keyframes (times, sizes, notes), the
 * keyframes copied under `analysisId`'s own prefix, no model call and no cost.
 * @throws SourceKeyframeMissingError when a keyframe of `prior` is gone (it was erased meanwhile).
 * @throws TransientError from the copies.
 */
export async function reusedResult(
  container: ContainerClient,
  prior: ReusableRecord,
  analysisId: string,
  timingsMs: AnalysisResult['timingsMs'],
  o: { concurrency: number; signal?: AbortSignal },
): Promise<AnalysisResult> {
  const keyframes = await copyKeyframes(container, analysisId, prior.result.keyframes, o);
  return { ...prior.result, keyframes, modelCalls: [], totalCostUsd: 0, timingsMs, reusedFrom: prior.id };
}
