/**
 * A tenant's AI usage and cost per model per UTC day (`GET /v1/usage`), read from the AI coordinator's counters:
 * the hash `<prefix>:usage:<tenant>:<yyyy-mm-dd>` per tenant-day, read through services/ai/usage-ledger.ts
 * (`UsageLedger.readDay`) so the key layout and field parsing live in one place. Costs are USD as the coordinator
 * accounted them (tokens × the desired state's price per 1M tokens); cache hits count as calls at zero cost.
 * Counters are kept 40 days by default (the coordinator's `usageRetentionDays`); older days read as zero.
 */
import type { UsageLedger, UsageSummary } from '../../ai/usage-ledger.ts';
import { ValidationError } from '../../platform/errors.ts';
import type { Principal } from '../auth/principal.ts';

/** Longest range, days (inclusive count). */
export const MAX_USAGE_DAYS = 92;
/** Default range when `from` is omitted: the 30 days ending at `to`. */
export const DEFAULT_USAGE_DAYS = 30;

/** Validated query of `GET /v1/usage`: UTC days `yyyy-mm-dd`, both inclusive. */
export interface UsageQuery {
  /** @defaultValue 29 days before `to` */
  from?: string;
  /** @defaultValue today (UTC) */
  to?: string;
}

/** One model's usage. */
export interface ModelUsageLine {
  /** Registry name of the model (desired state `spec.azure.models[].name`). */
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** USD. */
  costUsd: number;
  /** Calls answered, cache hits included. */
  calls: number;
  cachedCalls: number;
}

/** Usage of one UTC day. */
export interface DayUsage {
  day: string;
  models: ModelUsageLine[];
  /** USD. */
  costUsd: number;
}

/** The body of `GET /v1/usage`. */
export interface UsageReport {
  from: string;
  to: string;
  currency: 'USD';
  /** Every day of the range, oldest first (days without usage have no models and cost 0). */
  days: DayUsage[];
  totals: { models: ModelUsageLine[]; costUsd: number };
}

const DAY_MS = 86_400_000;
const roundUsd = (n: number): number => Math.round(n * 1e12) / 1e12;

function lines(s: UsageSummary): ModelUsageLine[] {
  return Object.entries(s.byModel)
    .map(([model, u]) => ({ model, ...u }))
    .sort((a, b) => a.model.localeCompare(b.model));
}

/**
 * Reads the caller's tenant's usage; `nowMs` (ms since the epoch) decides "today".
 * @throws ValidationError at `query.from` when the range is reversed or longer than MAX_USAGE_DAYS.
 */
export async function readUsage(ledger: UsageLedger, caller: Principal, q: UsageQuery, nowMs: number = Date.now()): Promise<UsageReport> {
  const toMs = Date.parse(`${q.to ?? new Date(nowMs).toISOString().slice(0, 10)}T00:00:00Z`);
  const fromMs = q.from !== undefined ? Date.parse(`${q.from}T00:00:00Z`) : toMs - (DEFAULT_USAGE_DAYS - 1) * DAY_MS;
  const count = Math.round((toMs - fromMs) / DAY_MS) + 1;
  if (count < 1) throw new ValidationError('the date range is reversed', [{ where: 'query.from', message: 'must not be after to' }]);
  if (count > MAX_USAGE_DAYS) throw new ValidationError('the date range is too long', [{ where: 'query.from', message: `the range may cover at most ${MAX_USAGE_DAYS} days` }]);
  const dayNames = Array.from({ length: count }, (_, i) => new Date(fromMs + i * DAY_MS).toISOString().slice(0, 10));
  // One HGETALL per day, issued together: ioredis pipelines them on the connection.
  const summaries = await Promise.all(dayNames.map((day) => ledger.readDay(caller.tenantId, day)));
  const totals = new Map<string, ModelUsageLine>();
  const days = summaries.map((s, i) => {
    const models = lines(s);
    for (const m of models) {
      const t = totals.get(m.model) ?? { model: m.model, promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0, cachedCalls: 0 };
      t.promptTokens += m.promptTokens;
      t.completionTokens += m.completionTokens;
      t.costUsd = roundUsd(t.costUsd + m.costUsd);
      t.calls += m.calls;
      t.cachedCalls += m.cachedCalls;
      totals.set(m.model, t);
    }
    return { day: dayNames[i] ?? '', models, costUsd: s.totalCostUsd };
  });
  const totalModels = [...totals.values()].sort((a, b) => a.model.localeCompare(b.model));
  return {
    from: dayNames[0] ?? '',
    to: dayNames[dayNames.length - 1] ?? '',
    currency: 'USD',
    days,
    totals: { models: totalModels, costUsd: roundUsd(days.reduce((sum, d) => sum + d.costUsd, 0)) },
  };
}
