/**
 * Tenants' daily AI budgets (issue 5 §5) from the runtime configuration: `AI_DAILY_BUDGET_USD` for every tenant, and
 * `AI_TENANT_DAILY_BUDGETS_USD`, comma-separated `tenant=usd` pairs that override it per tenant (`acme=50,beta-co=5`;
 * `0` refuses every call of that tenant). The coordinator reserves each call's worst-case cost against the budget of
 * the call's tenant before sending it (usage-ledger.ts) and refuses it with `budget_exceeded` past it.
 */
import type { Config } from '../platform/config.ts';
import { ValidationError } from '../platform/errors.ts';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../platform/tenant-id.ts';

/** Largest daily budget of one tenant, USD: the schema's maximum of AI_DAILY_BUDGET_USD. */
export const MAX_DAILY_BUDGET_USD = 1_000_000;

/** The configuration fields read here. */
export type BudgetConfig = Pick<Config, 'AI_DAILY_BUDGET_USD' | 'AI_TENANT_DAILY_BUDGETS_USD'>;

/**
 * @returns the coordinator's `dailyBudgetUsd` (tenant id → USD per UTC day, undefined for no budget), or undefined
 *   when neither variable is set.
 * @throws ValidationError (code `invalid_config`) naming `AI_TENANT_DAILY_BUDGETS_USD[i]` (the pair's index), when a
 *   pair is not `tenant=usd`, the tenant is not an id the API can issue ({@link TENANT_ID_PATTERN}: a typo such as
 *   `"acme"=0` would otherwise set a budget no call ever meets), the USD is not a decimal from 0 to
 *   {@link MAX_DAILY_BUDGET_USD}, or a tenant is listed twice.
 */
export function dailyBudgetsFromConfig(config: BudgetConfig): ((tenantId: string) => number | undefined) | undefined {
  const fallback = config.AI_DAILY_BUDGET_USD;
  const list = config.AI_TENANT_DAILY_BUDGETS_USD?.trim() ?? '';
  const byTenant = new Map<string, number>();
  const problems: Array<{ where: string; message: string }> = [];
  if (list !== '') {
    list.split(',').forEach((raw, i) => {
      const pair = raw.trim();
      const where = `AI_TENANT_DAILY_BUDGETS_USD[${i}]`;
      const m = /^([^=\s]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)$/.exec(pair);
      const usd = m ? Number(m[2]) : Number.NaN;
      const tenant = m?.[1] ?? '';
      if (!m || !Number.isFinite(usd)) problems.push({ where, message: `must be tenant=usd with usd a decimal >= 0 (e.g. acme=50), got "${pair.slice(0, 80)}"` });
      else if (!TENANT_ID_PATTERN.test(tenant)) problems.push({ where, message: `tenant "${tenant.slice(0, 80)}" is not a tenant id (${TENANT_ID_RULE})` });
      else if (usd > MAX_DAILY_BUDGET_USD) problems.push({ where, message: `must be <= ${MAX_DAILY_BUDGET_USD} USD, got ${m[2]!.slice(0, 40)}` });
      else if (byTenant.has(tenant)) problems.push({ where, message: `tenant "${tenant}" is listed twice` });
      else byTenant.set(tenant, usd);
    });
  }
  if (problems.length > 0) throw new ValidationError('invalid configuration: AI_TENANT_DAILY_BUDGETS_USD', problems, 'invalid_config');
  if (fallback === undefined && byTenant.size === 0) return undefined;
  return (tenantId) => byTenant.get(tenantId) ?? fallback;
}
