/**
 * Everything a model call needs from Redis before it is sent, in one round trip (lua-steps.ts, atomic):
 * 1. the response-cache lookup (the candidate deployments' entries in chain order; a hit stops the run, so a cached
 *    answer reserves no budget and no quota);
 * 2. the reservation of the call's worst-case cost against the tenant's daily budget, when the tenant has one (a
 *    refusal stops the run before any quota is taken);
 * 3. the RPM/TPM reservation on the deployment the call goes to first, when one was picked.
 */
import type { Redis } from 'ioredis';
import { runSteps, type LuaStep } from './lua-steps.ts';
import type { QuotaLimiter, QuotaRequest, ReserveResult } from './quota-limiter.ts';
import { parseCachedAnswer, type CachedAnswer, type ResponseCache } from './response-cache.ts';
import type { BudgetRequest, UsageLedger } from './usage-ledger.ts';

/** What {@link CallAdmission.admit} is asked. */
export interface AdmissionRequest {
  /** Request hashes to look up, in fallback-chain order; empty for no lookup (a repair call, a rejected hit). */
  cacheHashes: readonly string[];
  /** The budget reservation step (`UsageLedger.budgetRequest`); absent when the tenant has no budget. */
  budget?: BudgetRequest;
  /** The first quota reservation step (`QuotaLimiter.reservationRequest`); absent when no deployment was picked. */
  quota?: QuotaRequest;
  /** Time of the call, ms since the epoch (a budget refusal lasts until the next UTC midnight). */
  nowMs: number;
}

/** Outcome of {@link CallAdmission.admit}. */
export type Admission =
  | { kind: 'hit'; hash: string; answer: CachedAnswer }
  /** A miss: `reservedUsd` of budget is held (0 without a budget); `quota` answers the quota request, if any. */
  | { kind: 'admitted'; reservedUsd: number; quota?: ReserveResult };

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/** The admission step of one coordinator. */
export class CallAdmission {
  constructor(
    private readonly redis: Redis,
    private readonly cache: ResponseCache,
    private readonly ledger: UsageLedger,
    private readonly limiter: QuotaLimiter,
  ) {}

  /**
   * Runs the admission script (nothing is sent when there is nothing to look up or reserve). A damaged cache entry
   * is a miss: the lookup goes on from the next hash.
   * @throws QuotaExceededError (code `budget_exceeded`) when the budget refuses the call; nothing is reserved then.
   * @throws the Redis client's error when Redis cannot be reached (nothing can be reserved, so nothing is sent).
   */
  async admit(o: AdmissionRequest): Promise<Admission> {
    let hashes = this.cache.enabled ? o.cacheHashes : [];
    for (;;) {
      const steps: LuaStep[] = [];
      if (hashes.length > 0) steps.push(this.cache.lookupStep(hashes));
      if (o.budget) steps.push(o.budget.step);
      if (o.quota) steps.push(o.quota.step);
      const stop = await runSteps(this.redis, steps);
      const fn = stop ? steps[stop.step]?.fn : undefined;
      const value: unknown[] = stop && Array.isArray(stop.value) ? stop.value : [];
      if (fn === 'lookup_cache') {
        const i = num(value[0]) - 1;
        const hash = hashes[i];
        if (hash === undefined) throw new Error('admission: cache hit on an unknown key');
        const answer = parseCachedAnswer(typeof value[1] === 'string' ? value[1] : null);
        if (answer) return { kind: 'hit', hash, answer };
        hashes = hashes.slice(i + 1); // a damaged entry is a miss: look on from the next one
        continue;
      }
      if (fn === 'reserve_budget' && o.budget) throw this.ledger.budgetRefusal(o.budget, String(stop?.value), o.nowMs);
      const reservedUsd = o.budget?.estimateUsd ?? 0;
      if (fn === 'reserve_quota' && o.quota) return { kind: 'admitted', reservedUsd, quota: this.limiter.reservationResult(o.quota, num(value[0]), num(value[1])) };
      return { kind: 'admitted', reservedUsd };
    }
  }
}
