/**
 * Analyses for listing, trends and erasure tests, written through the real AnalysisStore (create, markRunning,
 * complete, fail) as the API and the worker write them. Trend reports are checked against
 * schemas/trend-report.schema.json, so the fixtures look like what the worker stores.
 *
 * `createdAtMs` back-dates a record (the store stamps creation with the clock): the record's `createdAt` is patched
 * and its tenant-index member replaced, which is exactly the state a record created at that time would be in.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Ajv } from 'ajv';
import { indexMember, type AnalysisStore } from '../../services/analyses/store.ts';
import type { AnalysisRecord, AnalysisResult, AnalysisStatus } from '../../services/analyses/types.ts';

const reportSchema = JSON.parse(readFileSync(new URL('../../schemas/trend-report.schema.json', import.meta.url), 'utf8')) as object;
const validateReport = new Ajv({ allErrors: true, strict: false }).compile(reportSchema);

/** What a fixture trend report says. */
export interface ReportSpec {
  topics?: Array<[label: string, confidence: number]>;
  hooks?: Array<[description: string, timestampSec: number]>;
  virality: number;
}

/**
 * A trend report valid against schemas/trend-report.schema.json.
 * @throws Error listing the schema problems when the spec makes an invalid report.
 */
export function trendReport(spec: ReportSpec): Record<string, unknown> {
  const topics = spec.topics ?? [['general', 0.5]];
  const report = {
    summary: 'A short clip.',
    topics: topics.map(([label, confidence]) => ({ label, confidence })),
    hooks: (spec.hooks ?? []).map(([description, timestampSec]) => ({ timestampSec, description })),
    visualStyle: { description: 'Handheld, bright.', tags: ['handheld'] },
    pacing: { label: 'fast', description: 'Quick cuts.' },
    sentiment: { label: 'positive', score: 0.4 },
    viralityScore: { score: spec.virality, reasons: ['a clear hook'] },
    keyframeNotes: [{ index: 0, timestampSec: 0, note: 'Opening shot.' }],
  };
  if (!validateReport(report)) throw new Error(`fixture report is invalid: ${JSON.stringify(validateReport.errors)}`);
  return report;
}

/** A result carrying `report`, shaped like the worker's. */
export function resultWith(report: Record<string, unknown>): AnalysisResult {
  return {
    video: { container: 'mp4', codec: 'h264', width: 1080, height: 1920, durationSec: 12, bytes: 4096, hasAudio: true },
    keyframes: [{ index: 0, timestampSec: 0, blobName: 'x/keyframe-0-0.jpg', width: 540, height: 960, bytes: 1000 }],
    modelCalls: [],
    report,
    totalCostUsd: 0.001,
    timingsMs: { total: 1000 },
  };
}

/** Options of {@link seedAnalysis}. */
export interface SeedOptions {
  tenantId?: string;
  status?: AnalysisStatus;
  /** Report of a succeeded analysis. @defaultValue a report with virality 50 */
  report?: ReportSpec;
  /** Back-date creation to this time, ms since the epoch. */
  createdAtMs?: number;
  idempotencyKey?: string;
  videoKey?: string;
}

/** Creates one analysis in `status` through the store. */
export async function seedAnalysis(store: AnalysisStore, redis: Redis, o: SeedOptions = {}): Promise<AnalysisRecord> {
  const tenantId = o.tenantId ?? 'acme';
  let { record } = await store.create({
    tenantId,
    videoKey: o.videoKey ?? `uploads/${tenantId}/${randomUUID()}`,
    tier: 'pro',
    options: {},
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
  });
  if (o.createdAtMs !== undefined) {
    const createdAtMs = o.createdAtMs;
    const index = store.tenantIndexKey(tenantId);
    await redis.zrem(index, indexMember(Date.parse(record.createdAt), record.id));
    await redis.zadd(index, 0, indexMember(createdAtMs, record.id));
    record = await store.update(record.id, (r) => ({ ...r, createdAt: new Date(createdAtMs).toISOString() }));
  }
  const status = o.status ?? 'queued';
  if (status === 'running' || status === 'succeeded') record = await store.markRunning(record.id);
  if (status === 'succeeded') record = await store.complete(record.id, resultWith(trendReport(o.report ?? { virality: 50 })));
  if (status === 'failed') record = await store.fail(record.id, { code: 'video_invalid', message: 'not a video' }, true);
  return record;
}

/** Listing order of the API: newest first by (createdAt ms, id). */
export function newestFirst(records: readonly AnalysisRecord[]): AnalysisRecord[] {
  return [...records].sort((a, b) => (indexMember(Date.parse(b.createdAt), b.id) < indexMember(Date.parse(a.createdAt), a.id) ? -1 : 1));
}
