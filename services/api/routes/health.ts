/**
 * `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: Redis answers PING within 1 s).
 * Both are open (middleware/auth.ts OPEN_PATHS); the load balancer and ECS health checks call them.
 */
import type { Redis } from 'ioredis';
import { AppError } from '../../platform/errors.ts';
import type { ApiRouter } from '../context.ts';
import { respond } from '../envelope.ts';
import { checkReadiness } from '../operations/check-readiness.ts';

/** Mounts the two health routes. */
export function mountHealthRoutes(router: ApiRouter, deps: { redis: Redis }): void {
  router.get('getHealth', '/healthz', (ctx) => {
    respond(ctx, { status: 'ok' });
  });

  router.get('getReadiness', '/readyz', async (ctx) => {
    const report = await checkReadiness(deps.redis, ctx.state.log);
    if (!report.ready) {
      const failed = report.checks.filter((c) => c.outcome === 'failed').map((c) => `${c.name}: ${c.reason ?? 'failed'}`);
      throw new AppError('not_ready', `not ready (${failed.join('; ')})`, 503, { checks: report.checks });
    }
    respond(ctx, { status: 'ready', checks: report.checks });
  });
}
