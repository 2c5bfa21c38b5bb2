/**
 * Several Redis decisions of the coordinator in ONE command: a Lua library of step functions, each owned by the
 * module whose keys it touches (cache lookup and store: response-cache.ts; budget reservation and usage record:
 * usage-ledger.ts; quota reservation and settlement: quota-limiter.ts), and a runner that applies a list of steps in
 * order, atomically, in one `EVALSHA`. A coordinated call needs two of these round trips:
 * - before the model call: cache lookup, budget reservation, quota reservation (admission.ts);
 * - after it: quota settlement, usage record, cache store and erasure index (coordinator.ts).
 *
 * Step functions are `local function name(K, A)` over their own keys `K` and arguments `A`; one returns false to let
 * the next step run, or a value to stop the script and answer it (a cache hit, a refused budget, a quota decision).
 *
 * The keys of one run span several hash slots (cache entries, tenant-day hashes, a deployment's quota keys): this
 * needs a single-shard Redis (standalone, or a primary with replicas), which is what services/platform/redis.ts
 * connects to.
 */
import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script.ts';
import { RESERVE_QUOTA_LUA, SETTLE_QUOTA_LUA } from './quota-limiter.ts';
import { LOOKUP_CACHE_LUA, STORE_CACHE_LUA } from './response-cache.ts';
import { RECORD_USAGE_LUA, RESERVE_BUDGET_LUA } from './usage-ledger.ts';

/** The step functions of the library. */
export type StepName = 'lookup_cache' | 'store_cache' | 'reserve_budget' | 'record_usage' | 'reserve_quota' | 'settle_quota';

/** One step: a library function, its keys (KEYS slice) and arguments (ARGV slice). */
export interface LuaStep {
  fn: StepName;
  keys: readonly string[];
  args: ReadonlyArray<string | number>;
}

// ARGV: step count n, then (name, key count, argument count) per step, then every step's arguments in order;
// KEYS: every step's keys in order. Reply: {s, value} when step s (1-based) stopped the run, else {0}.
const RUN_STEPS = new LuaScript(`${LOOKUP_CACHE_LUA}${STORE_CACHE_LUA}${RESERVE_BUDGET_LUA}${RECORD_USAGE_LUA}${RESERVE_QUOTA_LUA}${SETTLE_QUOTA_LUA}
local fns = {
  lookup_cache = lookup_cache, store_cache = store_cache,
  reserve_budget = reserve_budget, record_usage = record_usage,
  reserve_quota = reserve_quota, settle_quota = settle_quota,
}
local n = tonumber(ARGV[1])
local ki = 0
local ai = 1 + 3 * n
for s = 1, n do
  local h = 2 + 3 * (s - 1)
  local fn = fns[ARGV[h]]
  if not fn then return redis.error_reply('unknown step ' .. ARGV[h]) end
  local nk = tonumber(ARGV[h + 1])
  local na = tonumber(ARGV[h + 2])
  local K = {}
  local A = {}
  for i = 1, nk do K[i] = KEYS[ki + i] end
  for i = 1, na do A[i] = ARGV[ai + i] end
  ki = ki + nk
  ai = ai + na
  local r = fn(K, A)
  if r then return {s, r} end
end
return {0}
`);

/** Where a run stopped: the step (index into the list given) and its value; undefined when every step ran. */
export interface StepStop {
  step: number;
  value: unknown;
}

/**
 * Runs `steps` in order in one round trip (nothing is sent for an empty list).
 * @throws the Redis client's error (connection, script error); steps before a failing one stay applied.
 */
export async function runSteps(redis: Redis, steps: readonly LuaStep[]): Promise<StepStop | undefined> {
  if (steps.length === 0) return undefined;
  // One array, KEYS then ARGV (head, then every step's arguments), filled in place: this runs twice per model call,
  // and each intermediate copy was garbage on the coordinator's path (issue 5 §8).
  let keyCount = 0;
  let argCount = 1 + 3 * steps.length;
  for (const s of steps) {
    keyCount += s.keys.length;
    argCount += s.args.length;
  }
  const flat = new Array<string | number>(keyCount + argCount);
  let k = 0;
  let h = keyCount;
  let a = keyCount + 1 + 3 * steps.length;
  flat[h++] = steps.length;
  for (const s of steps) {
    flat[h++] = s.fn;
    flat[h++] = s.keys.length;
    flat[h++] = s.args.length;
    for (const key of s.keys) flat[k++] = key;
    for (const arg of s.args) flat[a++] = arg;
  }
  const reply = await RUN_STEPS.runFlat(redis, keyCount, flat);
  if (!Array.isArray(reply) || typeof reply[0] !== 'number') throw new Error('lua steps: unexpected reply');
  return reply[0] === 0 ? undefined : { step: reply[0] - 1, value: reply[1] };
}
