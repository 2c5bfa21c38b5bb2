/**
 * Token usage and cost counters in Redis, and the per-tenant daily budget.
 *
 * Keys (hashes; fields `<model>:prompt_tokens`, `<model>:completion_tokens`, `<model>:cost_usd`, `<model>:calls`,
 * `<model>:cached_calls`, plus `total:cost_usd` and `total:reserved_usd`; `<model>` is the registry name):
 * - `<prefix>:usage:<tenant>:<yyyy-mm-dd>`: per tenant per UTC day;
 * - `<prefix>:usage:<tenant>:analysis:<analysisId>`: per analysis.
 *
 * Budget: before a call, its worst-case cost is reserved against the tenant's daily budget in one Lua script
 * (spent + reserved + estimate > budget → refused), so concurrent calls on any replica cannot overshoot it the
 * way stale per-pod spend did in LiteLLM (reference/ai-gateway-anchors.md §2, BerriAI/litellm#27735). After the
 * call the reservation is swapped for the real cost. A process that dies mid-call leaves its reservation in place
 * until the day ends: the budget errs on the side of refusing.
 */
import type { Redis } from 'ioredis';
import { QuotaExceededError } from '../platform/errors.ts';
import { LuaScript } from './lua-script.ts';
import type { ModelCallRecord } from '../analyses/types.ts';

/** Field-name suffixes of the usage hashes. */
const FIELDS = ['prompt_tokens', 'completion_tokens', 'cost_usd', 'calls', 'cached_calls'] as const;

/** One model's line in a usage summary. */
export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
  /** USD. */
  costUsd: number;
  /** Calls answered, cache hits included. */
  calls: number;
  /** Calls answered from the response cache (no model call, no cost). */
  cachedCalls: number;
}

/** Usage of a tenant-day or an analysis. */
export interface UsageSummary {
  byModel: Record<string, ModelUsage>;
  /** USD spent. */
  totalCostUsd: number;
  /** USD reserved by calls in flight (tenant-day only). */
  reservedUsd: number;
}

/** Ledger settings. */
export interface UsageLedgerOptions {
  /** Daily budget of a tenant in USD, or undefined for none. */
  dailyBudgetUsd?: (tenantId: string) => number | undefined;
  /** How long usage hashes are kept, days. @defaultValue 40 */
  retentionDays?: number;
}

const BUDGET = new LuaScript(`
local budget = tonumber(ARGV[1])
local est = tonumber(ARGV[2])
local spent = tonumber(redis.call('HGET', KEYS[1], 'total:cost_usd') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'total:reserved_usd') or '0')
if spent + reserved + est > budget then return tostring(spent + reserved) end
redis.call('HINCRBYFLOAT', KEYS[1], 'total:reserved_usd', est)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 'ok'
`);

/** UTC day `yyyy-mm-dd` of `ms` (ms since the epoch). */
export function utcDay(ms: number = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function msUntilNextUtcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - ms;
}

/** The ledger. */
export class UsageLedger {
  private readonly retentionSec: number;
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly o: UsageLedgerOptions = {},
  ) {
    this.retentionSec = Math.max(1, Math.round((o.retentionDays ?? 40) * 86_400));
  }

  /** Key of a tenant's usage on a UTC day. */
  dayKey(tenantId: string, day: string): string {
    return `${this.keyPrefix}:usage:${tenantId}:${day}`;
  }

  /** Key of an analysis's usage. */
  analysisKey(tenantId: string, analysisId: string): string {
    return `${this.keyPrefix}:usage:${tenantId}:analysis:${analysisId}`;
  }

  /**
   * Reserves `estimateUsd` against the tenant's daily budget (no-op without a budget).
   * @returns the USD reserved (0 without a budget), to pass to {@link record} or {@link release}.
   * @throws QuotaExceededError (code `budget_exceeded`, retry after the next UTC midnight) when it does not fit.
   */
  async reserve(tenantId: string, day: string, estimateUsd: number, nowMs: number = Date.now()): Promise<number> {
    const budget = this.o.dailyBudgetUsd?.(tenantId);
    if (budget === undefined) return 0;
    const est = Math.max(0, estimateUsd);
    const reply = (await BUDGET.run(this.redis, [this.dayKey(tenantId, day)], [budget, est, this.retentionSec])) as string;
    if (reply !== 'ok') {
      throw new QuotaExceededError(
        `tenant ${tenantId} daily AI budget of ${budget} USD would be exceeded (used or reserved ${Number(reply).toFixed(6)} USD, this call may cost up to ${est.toFixed(6)} USD)`,
        msUntilNextUtcDay(nowMs),
        'budget_exceeded',
      );
    }
    return est;
  }

  /** Gives back a reservation whose call produced no cost (it failed). */
  async release(tenantId: string, day: string, reservedUsd: number): Promise<void> {
    if (reservedUsd > 0) await this.redis.hincrbyfloat(this.dayKey(tenantId, day), 'total:reserved_usd', -reservedUsd);
  }

  /**
   * Adds one answered call (model call or cache hit) to the tenant-day and analysis counters and swaps the budget
   * reservation (`reservedUsd`, may be 0) for the real cost.
   */
  async record(tenantId: string, analysisId: string, day: string, r: ModelCallRecord, reservedUsd: number): Promise<void> {
    const tx = this.redis.multi();
    for (const key of [this.dayKey(tenantId, day), this.analysisKey(tenantId, analysisId)]) {
      tx.hincrby(key, `${r.modelName}:prompt_tokens`, r.promptTokens);
      tx.hincrby(key, `${r.modelName}:completion_tokens`, r.completionTokens);
      tx.hincrbyfloat(key, `${r.modelName}:cost_usd`, r.costUsd);
      tx.hincrby(key, `${r.modelName}:calls`, 1);
      if (r.cached) tx.hincrby(key, `${r.modelName}:cached_calls`, 1);
      tx.hincrbyfloat(key, 'total:cost_usd', r.costUsd);
      tx.expire(key, this.retentionSec);
    }
    if (reservedUsd > 0) tx.hincrbyfloat(this.dayKey(tenantId, day), 'total:reserved_usd', -reservedUsd);
    await tx.exec();
  }

  /** Usage of a tenant on a UTC day (`yyyy-mm-dd`). */
  async readDay(tenantId: string, day: string): Promise<UsageSummary> {
    return summarise(await this.redis.hgetall(this.dayKey(tenantId, day)));
  }

  /** Usage of one analysis. */
  async readAnalysis(tenantId: string, analysisId: string): Promise<UsageSummary> {
    return summarise(await this.redis.hgetall(this.analysisKey(tenantId, analysisId)));
  }
}

function summarise(h: Record<string, string>): UsageSummary {
  const byModel: Record<string, ModelUsage> = {};
  for (const [field, raw] of Object.entries(h)) {
    const cut = field.lastIndexOf(':');
    const model = field.slice(0, cut);
    const name = field.slice(cut + 1) as (typeof FIELDS)[number];
    if (model === 'total' || !FIELDS.includes(name)) continue;
    const u = (byModel[model] ??= { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0, cachedCalls: 0 });
    const v = Number(raw);
    if (name === 'prompt_tokens') u.promptTokens = v;
    else if (name === 'completion_tokens') u.completionTokens = v;
    else if (name === 'cost_usd') u.costUsd = Math.round(v * 1e12) / 1e12;
    else if (name === 'calls') u.calls = v;
    else u.cachedCalls = v;
  }
  return {
    byModel,
    totalCostUsd: Math.round(Number(h['total:cost_usd'] ?? 0) * 1e12) / 1e12,
    reservedUsd: Math.max(0, Math.round(Number(h['total:reserved_usd'] ?? 0) * 1e12) / 1e12),
  };
}
