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
 * until the day ends: the budget errs on the side of refusing. Both are Lua functions
 * ({@link RESERVE_BUDGET_LUA}, {@link RECORD_USAGE_LUA}) that a coordinated call runs as steps of its two round
 * trips (lua-steps.ts); the methods below run the same functions on their own.
 */
import type { Redis } from 'ioredis';
import { QuotaExceededError } from '../platform/errors.ts';
import { LuaScript } from './lua-script.ts';
import type { LuaStep } from './lua-steps.ts';
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

/**
 * Lua function `reserve_budget(K, A)` (a lua-steps.ts step). `K[1]`: the tenant-day hash; `A`: budget USD,
 * estimate USD, retention s. Returns false when the estimate was reserved, else (refused: nothing reserved) the USD
 * already spent or reserved, as a string.
 */
export const RESERVE_BUDGET_LUA = `
local function reserve_budget(K, A)
  local budget = tonumber(A[1])
  local est = tonumber(A[2])
  local spent = tonumber(redis.call('HGET', K[1], 'total:cost_usd') or '0')
  local reserved = tonumber(redis.call('HGET', K[1], 'total:reserved_usd') or '0')
  if spent + reserved + est > budget then return tostring(spent + reserved) end
  redis.call('HINCRBYFLOAT', K[1], 'total:reserved_usd', A[2])
  redis.call('EXPIRE', K[1], A[3])
  return false
end
`;

/**
 * Lua function `record_usage(K, A)` (a lua-steps.ts step; returns false). `K`: the tenant-day and analysis hashes;
 * `A`: model (registry name), prompt tokens, completion tokens, cost USD, cached ('1' or '0'), USD of budget
 * reservation to give back (0 for none), retention s.
 */
export const RECORD_USAGE_LUA = `
local function record_usage(K, A)
  for i = 1, 2 do
    redis.call('HINCRBY', K[i], A[1] .. ':prompt_tokens', A[2])
    redis.call('HINCRBY', K[i], A[1] .. ':completion_tokens', A[3])
    redis.call('HINCRBYFLOAT', K[i], A[1] .. ':cost_usd', A[4])
    redis.call('HINCRBY', K[i], A[1] .. ':calls', 1)
    if A[5] == '1' then redis.call('HINCRBY', K[i], A[1] .. ':cached_calls', 1) end
    redis.call('HINCRBYFLOAT', K[i], 'total:cost_usd', A[4])
    redis.call('EXPIRE', K[i], A[7])
  end
  if tonumber(A[6]) > 0 then redis.call('HINCRBYFLOAT', K[1], 'total:reserved_usd', '-' .. A[6]) end
  return false
end
`;

const BUDGET = new LuaScript(`${RESERVE_BUDGET_LUA}\nreturn reserve_budget(KEYS, ARGV) or 'ok'`);
const RECORD = new LuaScript(`${RECORD_USAGE_LUA}\nrecord_usage(KEYS, ARGV)\nreturn 1`);

/** A budget reservation about to be asked for: the `reserve_budget` step and what its refusal says. */
export interface BudgetRequest {
  tenantId: string;
  /** The tenant's daily budget, USD. */
  budgetUsd: number;
  /** USD to reserve. */
  estimateUsd: number;
  step: LuaStep;
}

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
   * The `reserve_budget` step reserving `estimateUsd` (USD) on `day` for `tenantId`; undefined when the tenant has
   * no budget (nothing to reserve).
   */
  budgetRequest(tenantId: string, day: string, estimateUsd: number): BudgetRequest | undefined {
    const budget = this.o.dailyBudgetUsd?.(tenantId);
    if (budget === undefined) return undefined;
    const est = Math.max(0, estimateUsd);
    return { tenantId, budgetUsd: budget, estimateUsd: est, step: { fn: 'reserve_budget', keys: [this.dayKey(tenantId, day)], args: [budget, est, this.retentionSec] } };
  }

  /**
   * The error for a `reserve_budget` refusal: `usedUsd` is its reply (USD spent or reserved), `nowMs` the time of
   * the call (the refusal lasts until the next UTC midnight).
   */
  budgetRefusal(req: BudgetRequest, usedUsd: string, nowMs: number): QuotaExceededError {
    return new QuotaExceededError(
      `tenant ${req.tenantId} daily AI budget of ${req.budgetUsd} USD would be exceeded (used or reserved ${Number(usedUsd).toFixed(6)} USD, this call may cost up to ${req.estimateUsd.toFixed(6)} USD)`,
      msUntilNextUtcDay(nowMs),
      'budget_exceeded',
    );
  }

  /**
   * Reserves `estimateUsd` against the tenant's daily budget (no-op without a budget).
   * @returns the USD reserved (0 without a budget), to pass to {@link record} or {@link release}.
   * @throws QuotaExceededError (code `budget_exceeded`, retry after the next UTC midnight) when it does not fit.
   */
  async reserve(tenantId: string, day: string, estimateUsd: number, nowMs: number = Date.now()): Promise<number> {
    const req = this.budgetRequest(tenantId, day, estimateUsd);
    if (!req) return 0;
    const reply = (await BUDGET.run(this.redis, req.step.keys, req.step.args)) as string;
    if (reply !== 'ok') throw this.budgetRefusal(req, reply, nowMs);
    return req.estimateUsd;
  }

  /** Gives back a reservation whose call produced no cost (it failed). */
  async release(tenantId: string, day: string, reservedUsd: number): Promise<void> {
    if (reservedUsd > 0) await this.redis.hincrbyfloat(this.dayKey(tenantId, day), 'total:reserved_usd', -reservedUsd);
  }

  /**
   * The `record_usage` step adding one answered call (model call or cache hit) to the tenant-day and analysis
   * counters and swapping the budget reservation (`reservedUsd`, may be 0) for the real cost.
   */
  recordStep(tenantId: string, analysisId: string, day: string, r: ModelCallRecord, reservedUsd: number): LuaStep {
    return {
      fn: 'record_usage',
      keys: [this.dayKey(tenantId, day), this.analysisKey(tenantId, analysisId)],
      args: [r.modelName, r.promptTokens, r.completionTokens, r.costUsd, r.cached ? '1' : '0', Math.max(0, reservedUsd), this.retentionSec],
    };
  }

  /** {@link recordStep} run on its own (atomic: both hashes or neither). */
  async record(tenantId: string, analysisId: string, day: string, r: ModelCallRecord, reservedUsd: number): Promise<void> {
    const step = this.recordStep(tenantId, analysisId, day, r, reservedUsd);
    await RECORD.run(this.redis, step.keys, step.args);
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
