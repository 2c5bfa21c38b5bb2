/**
 * The analysis contract shared by the API (which creates analyses and enqueues jobs) and the worker (which runs
 * them): the record kept in Redis, the BullMQ job payload, and the result.
 */

/** Lifecycle of an analysis. `queued` → `running` → `succeeded` | `failed`. */
export type AnalysisStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** Pipeline steps, in order, as reported in progress. */
export const ANALYSIS_STEPS = ['download', 'probe', 'keyframes', 'upload', 'vision', 'report', 'store', 'cleanup'] as const;
/** One pipeline step. */
export type AnalysisStep = (typeof ANALYSIS_STEPS)[number];

/** Caller tier; decides the BullMQ priority (lower number runs first). */
export type Tier = 'enterprise' | 'pro' | 'free';

/** BullMQ priority per tier (1 = highest; jobs without priority would run before all of these, so every job gets one). */
export const TIER_PRIORITY: Readonly<Record<Tier, number>> = { enterprise: 1, pro: 5, free: 10 };

/** Options a caller may set on an analysis. */
export interface AnalysisOptions {
  /** Upper bound on keyframes sent to the vision model. Defaults to the worker's KEYFRAMES_MAX. */
  maxKeyframes?: number;
}

/** The BullMQ job payload: ids and keys only, never content or credentials (job data sits in Redis in clear). */
export interface AnalysisJobData {
  analysisId: string;
  tenantId: string;
  /** S3 object key of the uploaded video in the temp bucket. */
  videoKey: string;
  options: AnalysisOptions;
  /**
   * SHA-256 hex of the video bytes, set by the worker when it delayed the job because another analysis of the same
   * content was running (services/worker/content-reuse.ts); absent on submission.
   */
  contentSha256?: string;
}

/** What ffprobe found about the video. */
export interface VideoFacts {
  container: string;
  codec: string;
  width: number;
  height: number;
  durationSec: number;
  bytes: number;
  hasAudio: boolean;
}

/** One extracted keyframe. */
export interface KeyframeInfo {
  index: number;
  /** Presentation time in the video, seconds. */
  timestampSec: number;
  /** Blob name inside the keyframes container. */
  blobName: string;
  width: number;
  height: number;
  bytes: number;
  /** The vision model's note about this frame. */
  note?: string;
}

/** One model call, for usage and cost accounting. */
export interface ModelCallRecord {
  task: 'vision' | 'text';
  /** Registry name of the model (desired state `spec.azure.models[].name`). */
  modelName: string;
  /** Model/deployment id sent on the wire. */
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** USD, from tokens × price per 1M tokens in the desired state. */
  costUsd: number;
  durationMs: number;
  cached: boolean;
}

/** The finished analysis. `report` conforms to schemas/trend-report.schema.json. */
export interface AnalysisResult {
  video: VideoFacts;
  keyframes: KeyframeInfo[];
  modelCalls: ModelCallRecord[];
  report: Record<string, unknown>;
  totalCostUsd: number;
  /** Milliseconds per step. */
  timingsMs: Partial<Record<AnalysisStep | 'total', number>>;
  /**
   * Set when this result is an earlier analysis's, of the same content and options for the same tenant (the content
   * index): that analysis's id. No model call was made (`modelCalls` is empty, `totalCostUsd` 0); the keyframes are
   * copies under this analysis.
   */
  reusedFrom?: string;
}

/** The analysis record the API serves. */
export interface AnalysisRecord {
  id: string;
  tenantId: string;
  status: AnalysisStatus;
  videoKey: string;
  tier: Tier;
  options: AnalysisOptions;
  /** Client-supplied `Idempotency-Key`, if any. */
  idempotencyKey?: string;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  progress: { step: AnalysisStep | 'queued' | 'done'; percent: number };
  result?: AnalysisResult;
  error?: { code: string; message: string };
  /** Number of attempts the worker has started. */
  attempts: number;
}
