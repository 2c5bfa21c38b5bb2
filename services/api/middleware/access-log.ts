/**
 * One access-log line per request, written when the response is finished (or the client went away), so it sees the
 * final status that middleware/errors.ts set. Fields: method, route (the router's pattern, e.g.
 * `/v1/analyses/:id`, so ids do not explode log cardinality), path, status, ms, tenant, error code, and the
 * request id bound by middleware/request-id.ts. Request headers are never logged, so the Authorization header
 * cannot leak.
 */
import { performance } from 'node:perf_hooks';
import type { ApiMiddleware, ApiRouterContext } from '../context.ts';

/** Must run after middleware/request-id.ts (it uses `ctx.state.log`). */
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
          ...(ctx.state.errorCode ? { code: ctx.state.errorCode } : {}),
          ...(ctx.res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
    await next();
  };
}
