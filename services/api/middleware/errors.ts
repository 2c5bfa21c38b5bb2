/**
 * The first middleware: the one place where failures become responses (style-examples.md habit 10).
 *
 * - An {@link AppError} (ValidationError, NotFoundError, AuthError, …) keeps its status, code, message and details.
 * - An outage of Redis, S3 or the identity provider becomes 503 `service_unavailable` (dependency-outage.ts).
 * - An HTTP error thrown by a library (http-errors style: numeric `status`, boolean `expose`) keeps its status; its
 *   message is shown only when `expose` is true.
 * - Anything else is 500 `internal_error` with a generic message; the full error goes to the log with the request id.
 * - A response that downstream left without a body and with status ≥ 400 (the router's unmatched 404, its 405 and
 *   501) gets the envelope too.
 *
 * Headers set by earlier middleware (request id, security headers, `Allow`) are kept; `Location`, which only a
 * success may carry, is removed.
 */
import { AppError, AuthError, QuotaExceededError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { asDependencyOutage } from '../dependency-outage.ts';
import type { ApiContext, ApiMiddleware } from '../context.ts';
import type { ErrorEnvelope } from '../envelope.ts';
import { bearerChallenge } from './auth.ts';

/** Code and message for responses that carry only a status (router 404/405/501, library HTTP errors). */
const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  501: 'not_implemented',
};

const INTERNAL_MESSAGE = 'internal error; quote the requestId when reporting it';

interface HttpErrorLike {
  status: number;
  expose: boolean;
  message: string;
}

function isHttpErrorLike(err: unknown): err is HttpErrorLike {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<string, unknown>;
  return typeof e.status === 'number' && e.status >= 400 && e.status <= 599 && typeof e.expose === 'boolean';
}

/** The AppError a bodiless ≥ 400 status stands for. */
function statusOnlyError(ctx: ApiContext): AppError {
  const status = ctx.status;
  if (status === 404) return new AppError('not_found', `no route ${ctx.method} ${ctx.path}`, 404);
  if (status === 405) {
    return new AppError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path} (allowed: ${ctx.response.get('Allow') || 'none'})`, 405);
  }
  if (status === 501) return new AppError('not_implemented', `the method ${ctx.method} is not implemented`, 501);
  return new AppError(STATUS_CODES[status] ?? `http_${status}`, `request failed with status ${status}`, status);
}

/** Maps any thrown value to the AppError the client will see. */
function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const outage = asDependencyOutage(err);
  if (outage) return outage;
  if (isHttpErrorLike(err)) {
    const code = STATUS_CODES[err.status] ?? `http_${err.status}`;
    const message = err.status >= 500 ? INTERNAL_MESSAGE : err.expose ? err.message : 'request failed';
    return new AppError(code, message, err.status);
  }
  return new AppError('internal_error', INTERNAL_MESSAGE, 500);
}

/**
 * @param rootLogger used when the request's child logger does not exist yet.
 */
export function errors(rootLogger: Logger): ApiMiddleware {
  return async (ctx, next) => {
    let thrown: unknown;
    try {
      await next();
      if (ctx.status < 400 || ctx.body != null) return;
      thrown = statusOnlyError(ctx);
    } catch (err) {
      thrown = err;
    }
    const log = ctx.state.log ?? rootLogger;
    const appErr = toAppError(thrown);
    // 501 answers a method the API never supports (TRACE, …): the client's mistake, not a server fault.
    if (appErr.status >= 500 && appErr.status !== 501) log.error({ err: thrown, code: appErr.code }, 'request failed');
    else log.debug({ code: appErr.code, reason: appErr.message }, 'request rejected');
    if (ctx.headerSent) return; // nothing more can be said to the client; the log has it
    ctx.remove('Location');
    if (appErr instanceof AuthError) ctx.set('WWW-Authenticate', bearerChallenge(appErr));
    if (appErr instanceof QuotaExceededError) ctx.set('Retry-After', String(Math.ceil(appErr.retryAfterMs / 1000)));
    ctx.status = appErr.status;
    ctx.state.errorCode = appErr.code;
    const body: ErrorEnvelope = {
      error: {
        code: appErr.code,
        message: appErr.message,
        ...(appErr.data !== undefined ? { details: appErr.data } : {}),
        requestId: ctx.state.requestId,
      },
    };
    ctx.body = body;
  };
}
