/**
 * The AI coordinator's contract: what the worker asks for (a task, never a model) and what it gets back.
 * Every model call of the engine goes through an {@link AiCoordinator}.
 */
import type { ModelCallRecord } from '../analyses/types.ts';

/** Who a call is made for: usage and cost are summed per tenant and per analysis. */
export interface CallContext {
  tenantId: string;
  analysisId: string;
}

/** Ask the vision model about one image (one image per call: Llama 3.2 Vision takes a single image). */
export interface DescribeImageRequest {
  /** Encoded image, longest side within the model's limit (1120 px for Llama 3.2 Vision). */
  image: Buffer;
  mimeType: 'image/jpeg' | 'image/png';
  /** Instruction text sent with the image. */
  prompt: string;
  context: CallContext;
  /** Upper bound on output tokens. */
  maxTokens?: number;
}

/** Ask a text model for a JSON document that must validate against `schema`. */
export interface GenerateJsonRequest {
  system: string;
  user: string;
  /** JSON Schema the answer must satisfy (sent as `response_format: json_schema`). */
  schema: Record<string, unknown>;
  /** Schema name for `response_format.json_schema.name`. */
  schemaName: string;
  context: CallContext;
  maxTokens?: number;
}

/** A text answer plus its accounting record. */
export interface TextResult {
  text: string;
  record: ModelCallRecord;
}

/** A validated JSON answer plus the accounting records of every call it took (a repair adds one). */
export interface JsonResult {
  json: Record<string, unknown>;
  records: ModelCallRecord[];
}

/** The coordinator. Implementations route, limit, retry, cache and account; callers just name the task. */
export interface AiCoordinator {
  /**
   * One vision call.
   * @throws QuotaExceededError when the tenant's budget or the deployments' quota refuse the call.
   * @throws TransientError after the retry budget is spent on 429/5xx/timeouts.
   * @throws TerminalError when the model rejects the request (4xx other than 429).
   */
  describeImage(req: DescribeImageRequest): Promise<TextResult>;
  /**
   * One text call (plus at most one repair call) returning JSON valid against `req.schema`; reasoning
   * (`<think>` or `reasoning_content`) is stripped and never returned.
   * @throws TerminalError with code `invalid_model_output` when the repaired answer still does not validate.
   */
  generateJson(req: GenerateJsonRequest): Promise<JsonResult>;
  /**
   * Waits until the bookkeeping of every call that has already returned is in Redis (usage and cost counters, quota
   * settlement, cache entries and their erasure index): a call returns before that write is sent (it goes out on the
   * next event-loop turn) or answered. Call it before anything reads those, on any connection or in another process, e.g. before an analysis result is stored. Writes that
   * failed are logged and counted, not thrown. Never rejects.
   */
  settle(): Promise<void>;
  /** Refuses new calls, aborts those in flight, waits (bounded) for their post-call writes, releases connections. */
  close(): Promise<void>;
}
