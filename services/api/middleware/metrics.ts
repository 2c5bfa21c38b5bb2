/**
 * Records every request in {@link ApiMetrics} once its response has finished (or the client went away), with the
 * final status that middleware/errors.ts set (499 when the client went away first: final-status.ts) and the router's
 * pattern as `route`.
 */
import { performance } from 'node:perf_hooks';
import type { ApiMiddleware, ApiRouterContext } from '../context.ts';
import { UNMATCHED_ROUTE, type ApiMetrics } from '../metrics.ts';
import { finalStatus } from './final-status.ts';

/** The metrics middleware. */
export function recordMetrics(metrics: ApiMetrics): ApiMiddleware {
  return (ctx, next) => {
    const startedMs = performance.now();
    ctx.res.on('close', () => {
      const route = (ctx as ApiRouterContext)._matchedRoute;
      metrics.observe(ctx.method, typeof route === 'string' ? route : UNMATCHED_ROUTE, finalStatus(ctx.res), (performance.now() - startedMs) / 1000);
    });
    return next();
  };
}
