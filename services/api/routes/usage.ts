/** `GET /v1/usage` (scope `analyses:read`): the tenant's AI usage and cost per model per UTC day. */
import type { UsageLedger } from '../../ai/usage-ledger.ts';
import type { ApiRouter } from '../context.ts';
import { respond } from '../envelope.ts';
import { principalOf, requireScope } from '../middleware/auth.ts';
import type { RequestValidators } from '../openapi.ts';
import { readUsage, type UsageQuery } from '../operations/read-usage.ts';

/** Mounts the usage route. */
export function mountUsageRoutes(router: ApiRouter, validators: RequestValidators, ledger: UsageLedger): void {
  const validate = validators.validator<{ query: UsageQuery }>('getUsage');
  router.get('getUsage', '/v1/usage', requireScope('analyses:read'), async (ctx) => {
    const { query } = validate(ctx);
    respond(ctx, await readUsage(ledger, principalOf(ctx), query));
  });
}
