/**
 * Records every request in {@link ApiMetrics} once its response has finished (or the client went away), with the
 * final status that middleware/errors.ts set and the router's pattern as `route`.
 */
import { performance } from 'node:perf_hooks';
import type { ApiMiddleware, ApiRouterContext } from '../context.ts';
import { UNMATCHED_ROUTE, type ApiMetrics } from '../metrics.ts';

/** The metrics middleware. */
export function recordMetrics(metrics: ApiMetrics): ApiMiddleware {
  return (ctx, next) => {
    const startedMs = performance.now();
    ctx.res.on('close', () => {
      const route = (ctx as ApiRouterContext)._matchedRoute;
      metrics.observe(ctx.method, typeof route === 'string' ? route : UNMATCHED_ROUTE, ctx.res.statusCode, (performance.now() - startedMs) / 1000);
    });
    return next();
  };
}
