/**
 * Recognises errors that mean "a backing service (Redis, S3, the identity provider) is unreachable right now", so
 * the API answers 503 `service_unavailable` (retry later) instead of 500 (our bug).
 *
 * What they look like:
 * - ioredis with `enableOfflineQueue: false` rejects a command at once while disconnected with
 *   "Stream isn't writeable and enableOfflineQueue options is false", and a command cut by a dropped connection with
 *   "Connection is closed." or `MaxRetriesPerRequestError` (ioredis lib/Redis.ts `sendCommand`,
 *   lib/errors/MaxRetriesPerRequestError.ts); bullmq-notes.md "Connections" asks for exactly this 503 mapping.
 * - Node socket errors carry `code` ECONNREFUSED, ECONNRESET, ETIMEDOUT, … (Node.js docs, "Common system errors").
 * - AWS SDK v3 service errors carry `$fault: 'server'` for 5xx and throttling answers (@smithy/smithy-client
 *   `ServiceException`), and a timed-out request is a `TimeoutError`.
 */
import { TransientError } from '../platform/errors.ts';

const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const REDIS_UNAVAILABLE = /enableOfflineQueue options is false|^Connection is closed/;

/** The message clients see: no host, port or library detail. */
const OUTAGE_MESSAGE = 'a backing service is temporarily unavailable; retry later';

/**
 * @returns a TransientError (503 `service_unavailable`, the original as `cause`) when `err` is an outage of a
 * dependency, else `undefined`.
 */
export function asDependencyOutage(err: unknown): TransientError | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof TransientError) return err;
  const fields = err as Error & { code?: unknown; $fault?: unknown };
  const outage =
    err.name === 'MaxRetriesPerRequestError' ||
    REDIS_UNAVAILABLE.test(err.message) ||
    (typeof fields.code === 'string' && SOCKET_ERROR_CODES.has(fields.code)) ||
    fields.$fault === 'server' ||
    err.name === 'TimeoutError';
  return outage ? new TransientError('service_unavailable', OUTAGE_MESSAGE, { cause: err }) : undefined;
}
