/**
 * The AI emulator's record of requests, for tests: every request with its route, model, api-version, status and
 * (for the newest ones) its parsed body.
 */

/** One request received. */
export interface AiCallRecord {
  method: string;
  /** `info`, `chat/completions`, or `unknown`. */
  route: string;
  /** Base path it came in on: `` (serverless shape) or `/models` (Foundry shape). */
  base: '' | '/models';
  apiVersion?: string;
  /** Model the request resolved to (or named, when unknown). */
  model?: string;
  status: number;
  /** Error code of an error answer (`unknown_model`, `429`). */
  errorCode?: string;
  /** Fault applied. */
  fault?: 'throttle' | 'server-error';
  /** Token usage of a successful completion. */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Parsed JSON body; kept for the newest {@link BODIES_KEPT} records only (images are large). */
  body?: unknown;
  /** Arrival time, epoch ms. */
  atMs: number;
}

/** Filter of {@link AiCallLog.count}. */
export interface AiCallFilter {
  route?: string;
  model?: string;
  status?: number;
}

/** The log exposed as `AiEmulator.calls`. */
export interface AiCallLog {
  /** Requests, oldest first (the newest 1000). */
  readonly records: readonly AiCallRecord[];
  /** Number of requests matching every given field. */
  count(filter?: AiCallFilter): number;
  /** Body of the newest request on `route` (any route when absent), or undefined. */
  lastBody(route?: string): unknown;
  /** Forgets everything. */
  reset(): void;
}

/** How many records keep their body. */
export const BODIES_KEPT = 20;
const MAX_RECORDS = 1000;

/** Creates the log; the server calls `add`. */
export function createCallLog(): AiCallLog & { add(r: AiCallRecord): void } {
  let records: AiCallRecord[] = [];
  const matches = (r: AiCallRecord, f: AiCallFilter): boolean =>
    (f.route === undefined || r.route === f.route) && (f.model === undefined || r.model === f.model) && (f.status === undefined || r.status === f.status);
  return {
    get records() {
      return records;
    },
    add(r) {
      records.push(r);
      if (records.length > MAX_RECORDS) records = records.slice(-MAX_RECORDS);
      const old = records[records.length - 1 - BODIES_KEPT];
      if (old) delete old.body;
    },
    count: (f = {}) => records.filter((r) => matches(r, f)).length,
    lastBody(route) {
      for (let i = records.length - 1; i >= 0; i--) if (route === undefined || records[i]!.route === route) return records[i]!.body;
      return undefined;
    },
    reset() {
      records = [];
    },
  };
}
