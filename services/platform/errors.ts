/**
 * The project's small error vocabulary. Each class has a stable `code` (used in API envelopes, job failure
 * reasons and CLI output) and says by its type what the caller should do:
 * - {@link ValidationError}: the input is wrong; fix it, do not retry. Carries where (file:line:column, JSON path
 *   or HTTP field).
 * - {@link NotFoundError}, {@link ConflictError}, {@link AuthError}: client-side conditions with an HTTP meaning.
 * - {@link QuotaExceededError}: retry after `retryAfterMs`.
 * - {@link TerminalError}: no retry can fix it (bad video, missing permission).
 * - {@link TransientError}: retry with backoff (throttling, 5xx, timeouts).
 */

/** One problem found in an input, with where it is. */
export interface Problem {
  /** Where: `file.yml:12:5`, a JSON path like `/spec/ecs/services/api`, or an HTTP field like `body.videoKey`. */
  where: string;
  /** What is wrong, as a sentence fragment: `must be >= 1`. */
  message: string;
}

/** Base class: every project error has a machine `code` and an HTTP `status`. */
export class AppError extends Error {
  /** Stable machine-readable code, e.g. `validation_failed`. */
  readonly code: string;
  /** HTTP status the API maps it to. */
  readonly status: number;
  /**
   * Optional structured data, safe to show to the caller: the API sends it as the envelope's `error.details`. Not
   * named `details` here: uvu's failure printer calls `err.details.split('\n')`, which throws on an object, and then
   * prints nothing for the failing test and runs none of the tests after it in the file.
   */
  readonly data?: unknown;
  constructor(code: string, message: string, status: number, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.data = details;
  }
}

/** Input failed validation. `problems` lists every problem, each with its location. HTTP 400. */
export class ValidationError extends AppError {
  readonly problems: Problem[];
  constructor(message: string, problems: Problem[], code = 'validation_failed') {
    super(code, message, 400, { problems });
    this.problems = problems;
  }
  /** Renders `message` followed by one indented line per problem: `  - where: message`. */
  render(): string {
    return [this.message, ...this.problems.map((p) => `  - ${p.where}: ${p.message}`)].join('\n');
  }
}

/** The named thing does not exist (or is not visible to the caller). HTTP 404. */
export class NotFoundError extends AppError {
  constructor(message: string) {
    super('not_found', message, 404);
  }
}

/** The request conflicts with current state (e.g. idempotency key reused with another body). HTTP 409. */
export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super('conflict', message, 409, details);
  }
}

/** Authentication (401) or authorisation (403) failure. The message never contains the token. */
export class AuthError extends AppError {
  constructor(status: 401 | 403, code: string, message: string) {
    super(code, message, status);
  }
}

/** A quota or budget is exhausted; retry after `retryAfterMs` (ms). HTTP 429. */
export class QuotaExceededError extends AppError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, code = 'quota_exceeded') {
    super(code, message, 429, { retryAfterMs });
    this.retryAfterMs = retryAfterMs;
  }
}

/** No retry can fix this (corrupt video, invalid desired state, missing permission). HTTP 422 by default. */
export class TerminalError extends AppError {
  constructor(code: string, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(code, message, 422, details, options);
  }
}

/** A temporary failure (throttling, 5xx, timeout): retry with backoff. HTTP 503. */
export class TransientError extends AppError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 503, undefined, options);
  }
}

/** Returns the message of any thrown value, for logs and reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
