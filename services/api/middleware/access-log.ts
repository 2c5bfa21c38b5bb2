/**
 * One access-log line per request, written when the response is finished (or the client went away), so it sees the
 * final status that middleware/errors.ts set. Fields: method, route (the router's pattern, e.g.
 * `/v1/analyses/:id`, so ids do not explode log cardinality), path, status, ms, tenant, error code, the client's
 * network (`clientNet`, the address anonymised to /24 or /48: client-address.ts), and the request id bound by
 * middleware/request-id.ts.
 *
 * Never logged (tokens and personal data): request headers (so the Authorization header cannot leak), the query
 * string, bodies, the token's subject or other claims, the full client address.
 */
import { performance } from 'node:perf_hooks';
import { anonymiseAddress } from '../client-address.ts';
import type { ApiMiddleware, ApiRouterContext } from '../context.ts';

/** Must run after middleware/request-id.ts and middleware/client-address.ts (it uses `ctx.state.log` and `clientAddress`). */
export function accessLog(): ApiMiddleware {
  return async (ctx, next) => {
    const startedMs = performance.now();
    ctx.res.once('close', () => {
      const route = (ctx as ApiRouterContext)._matchedRoute;
      ctx.state.log.info(
        {
          method: ctx.method,
          route: typeof route === 'string' ? route : null,
          path: ctx.path,
          status: ctx.res.statusCode,
          ms: Math.round((performance.now() - startedMs) * 10) / 10,
          tenant: ctx.state.principal?.tenantId ?? null,
          clientNet: anonymiseAddress(ctx.state.clientAddress),
          ...(ctx.state.errorCode ? { code: ctx.state.errorCode } : {}),
          ...(ctx.res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
    await next();
  };
}
