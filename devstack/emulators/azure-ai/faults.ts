/**
 * Fault injection for the AI emulator. `throttle` answers 429 to chat completions for a time window, with the
 * retry hint in `retry-after` (seconds), `retry-after-ms` (ms) or no header at all — the last is the case the
 * Azure SDK pipeline does not retry (reference/azure-ai-inference.md §6) — and the body in the nested
 * (Foundry / Azure OpenAI) or flat (reference doc) shape. `serverError` fails the next N chat requests with a 5xx,
 * `latency` delays every answer.
 */
import type { ErrorShape } from './error-bodies.ts';

/** Options of {@link AiFaults.throttle}. */
export interface ThrottleFault {
  /** Length of the throttling window, in ms from now. */
  forMs: number;
  /** Retry hint sent, in ms. @defaultValue the time left in the window */
  retryAfterMs?: number;
  /** Which header carries the hint. */
  header: 'retry-after' | 'retry-after-ms' | 'none';
  /** Body shape of the 429. @defaultValue 'nested' */
  bodyShape?: ErrorShape;
  /** Throttle only this model (deployment name). @defaultValue every model */
  model?: string;
}

/** Fault injection exposed as `AiEmulator.faults`. */
export interface AiFaults {
  /** Answers 429 to chat completions for `forMs`. */
  throttle(o: ThrottleFault): void;
  /** Fails the next `times` chat requests with `status` (500 by default). */
  serverError(o: { times: number; status?: 500 | 502 | 503 | 504 }): void;
  /** Adds `ms` of delay to every answer (0 removes it). */
  latency(ms: number): void;
  /** Removes every fault (and the start-up latency). */
  clear(): void;
}

/** What to do with one chat request. */
export type FaultVerdict =
  | { kind: 'throttle'; retryAfterMs: number; header: ThrottleFault['header']; shape: ErrorShape }
  | { kind: 'server-error'; status: number }
  | undefined;

/** Creates the injector; the server calls `check` once per chat request and reads `latencyMs`. */
export function createAiFaults(initialLatencyMs: number, now: () => number = Date.now): AiFaults & { check(model: string | undefined): FaultVerdict; readonly latencyMs: number } {
  let throttle: (ThrottleFault & { untilMs: number }) | undefined;
  let errorsLeft = 0;
  let errorStatus = 500;
  let latencyMs = initialLatencyMs;
  return {
    throttle(o) {
      if (!Number.isFinite(o.forMs) || o.forMs <= 0) throw new Error(`faults.throttle: forMs must be > 0, got ${o.forMs}`);
      if (!['retry-after', 'retry-after-ms', 'none'].includes(o.header)) throw new Error(`faults.throttle: unknown header ${String(o.header)}`);
      throttle = { ...o, untilMs: now() + o.forMs };
    },
    serverError(o) {
      if (!Number.isInteger(o.times) || o.times < 1) throw new Error(`faults.serverError: times must be an integer >= 1, got ${o.times}`);
      errorsLeft = o.times;
      errorStatus = o.status ?? 500;
    },
    latency(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`faults.latency: ms must be >= 0, got ${ms}`);
      latencyMs = ms;
    },
    clear() {
      throttle = undefined;
      errorsLeft = 0;
      latencyMs = 0;
    },
    get latencyMs() {
      return latencyMs;
    },
    check(model) {
      const t = now();
      if (throttle && t < throttle.untilMs && (throttle.model === undefined || throttle.model === model)) {
        return { kind: 'throttle', retryAfterMs: Math.max(1, Math.ceil(throttle.retryAfterMs ?? throttle.untilMs - t)), header: throttle.header, shape: throttle.bodyShape ?? 'nested' };
      }
      if (errorsLeft > 0) {
        errorsLeft -= 1;
        return { kind: 'server-error', status: errorStatus };
      }
      return undefined;
    },
  };
}
