/**
 * The one response envelope of the API (DESIGN.md §7): a success is `{ data }`, a failure is
 * `{ error: { code, message, details?, requestId } }`. Routes call {@link respond}; only middleware/errors.ts builds
 * error bodies.
 */
import type { ApiContext } from './context.ts';

/** Body of every 2xx response. */
export interface SuccessEnvelope<T> {
  data: T;
}

/** Body of every 4xx/5xx response. */
export interface ErrorEnvelope {
  error: {
    /** Stable machine code, listed in schemas/openapi.yaml `ErrorCode`. */
    code: string;
    /** A sentence for people; generic on 5xx. */
    message: string;
    /** Structured, caller-safe details (e.g. `{ problems: [{ where, message }] }`). */
    details?: unknown;
    /** The request's id, also in the `X-Request-Id` header and every log line of the request. */
    requestId: string;
  };
}

/**
 * Sends `data` in the success envelope.
 * @param status a 2xx status. @defaultValue 200
 */
export function respond<T>(ctx: ApiContext, data: T, status = 200): void {
  ctx.status = status;
  ctx.body = { data } satisfies SuccessEnvelope<T>;
}
