/** `GET /v1/trends` (scope `analyses:read`): the tenant's trend aggregates over a time window ending now. */
import type { AnalysisStore } from '../../analyses/store.ts';
import type { ApiRouter } from '../context.ts';
import { respond } from '../envelope.ts';
import { principalOf, requireScope } from '../middleware/auth.ts';
import type { RequestValidators } from '../openapi.ts';
import { aggregateTrends, type TrendsQuery } from '../operations/aggregate-trends.ts';

/** Mounts the trends route. */
export function mountTrendRoutes(router: ApiRouter, validators: RequestValidators, store: AnalysisStore): void {
  const validate = validators.validator<{ query: TrendsQuery }>('getTrends');
  router.get('getTrends', '/v1/trends', requireScope('analyses:read'), async (ctx) => {
    const { query } = validate(ctx);
    respond(ctx, await aggregateTrends(store, principalOf(ctx), query));
  });
}
