/**
 * One access-log line per request, written when the response is finished (or the client went away), so it sees the
 * final status that middleware/errors.ts set. Fields: method, route (the router's pattern, e.g.
 * `/v1/analyses/:id`, so ids do not explode log cardinality), path, status (499 when the client went away before an
 * answer was sent), ms, tenant, error code, the client's
 * network (`clientNet`, the address anonymised to /24 or /48: client-address.ts), and the request id bound by
 * middleware/request-id.ts.
 *
 * Never logged (tokens and personal data): request headers (so the Authorization header cannot leak), the query
 * string, bodies, the token's subject or other claims, the full client address.
 *
 * The line goes through a child of the root logger with no redaction paths, carrying `requestId` as a field: its
 * fields are the fixed primitives above, so there is nothing to redact, and pino's redaction (@pinojs/redact clones
 * each logged object and runs every wildcard path over it) was a fifth of the API's CPU per request in
 * bench/api-load.ts. Every other log line keeps the root logger's redaction.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../platform/logger.ts';
import { anonymiseAddress } from '../client-address.ts';
import { finalStatus } from './final-status.ts';
import type { ApiMiddleware, ApiRouterContext } from '../context.ts';

/**
 * Must run after middleware/request-id.ts and middleware/client-address.ts (it uses `requestId` and `clientAddress`).
 * @param rootLogger the process logger (the same one request-id.ts binds request loggers to).
 */
export function accessLog(rootLogger: Logger): ApiMiddleware {
  const log = rootLogger.child({}, { redact: [] });
  return (ctx, next) => {
    const startedMs = performance.now();
    // 'close' is emitted once per response; `on` spares the wrapper `once` would allocate.
    ctx.res.on('close', () => {
      const route = (ctx as ApiRouterContext)._matchedRoute;
      log.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          route: typeof route === 'string' ? route : null,
          path: ctx.path,
          status: finalStatus(ctx.res),
          ms: Math.round((performance.now() - startedMs) * 10) / 10,
          tenant: ctx.state.principal?.tenantId ?? null,
          clientNet: anonymiseAddress(ctx.state.clientAddress),
          // pino leaves out fields whose value is undefined.
          code: ctx.state.errorCode,
          aborted: ctx.res.writableFinished ? undefined : true,
        },
        'request',
      );
    });
    return next();
  };
}
