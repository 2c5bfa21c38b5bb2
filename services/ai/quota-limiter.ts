/**
 * Client-side RPM/TPM limiting per model deployment, shared by every replica through Redis (one Lua script per
 * decision, so concurrent reservations cannot both take the last slot). The decisions are Lua functions
 * ({@link RESERVE_QUOTA_LUA}, {@link SETTLE_QUOTA_LUA}) that a coordinated call runs as steps of its two round trips
 * (lua-steps.ts): the first reservation beside the cache lookup and the budget, the settlement beside the usage
 * record and the cache write. The methods below run the same functions on their own.
 *
 * Model (reference/azure-ai-inference.md §6): Azure counts TPM at admission from prompt tokens plus `max_tokens`,
 * so a call reserves that estimate before it goes out, and the reservation is corrected to `usage` afterwards
 * (or to 0 when the call failed). Windows are sliding, 60 s, using the Redis server clock (`TIME`) so replicas
 * with skewed clocks agree. Two kinds of server feedback lower the pace for everyone:
 * - a 429 sets a shared hold on the deployment for the wait its `retry-after(-ms)` names (or, without one, for the
 *   caller's jittered backoff), so no replica sends to it earlier;
 * - after a hold ends, one "probe" call is let through while the others wait for its outcome (the probe gate), so
 *   a throttled deployment sees one call per round instead of every waiting job at once (the retry storm users of
 *   gateways without shared state complain about: reference/ai-gateway-anchors.md §1, §2); a probe that answers
 *   opens the gate, one throttled again closes it for the next hold, and a gate left by a dead replica expires
 *   after {@link PROBE_GATE_MS};
 * - `x-ratelimit-remaining-requests` / `-tokens` are kept until their reset (`x-ratelimit-reset-*`, else 1 s)
 *   and a reservation that would exceed them waits.
 *
 * Keys (the `{deployment}` hash tag keeps one deployment's keys in one cluster slot):
 * `<prefix>:ai:quota:{<deployment>}:req` (zset of request ids), `…:tok` (zset of `id|tokens`), `…:hold`,
 * `…:server` (hash of server-reported remaining counts), `…:gate` (`throttled` or `probe:<id>`), `…:toksum` (the
 * running token total of `…:tok`, so a reservation costs O(expired entries), not O(window)).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ModelDeployment } from './model-deployment.ts';
import { LuaScript } from './lua-script.ts';
import type { LuaStep } from './lua-steps.ts';
import { remainingHeader, resetHeaderMs, type HeaderMap } from './retry-policy.ts';

/** Sliding window length, ms. */
export const QUOTA_WINDOW_MS = 60_000;
/** How long server-reported remaining counts are trusted when the response names no reset, ms. */
export const SERVER_HINT_DEFAULT_MS = 1_000;
/** How long a probe may hold the gate before other callers may go anyway (a replica died mid-probe), ms. */
export const PROBE_GATE_MS = 10_000;
/** How long the gate stays closed after a hold ends when nobody probes, ms. */
export const GATE_AFTER_HOLD_MS = 60_000;
/** Longest single wait while another caller's probe is in flight, ms (waiters look again this often). */
export const PROBE_POLL_MS = 100;

/**
 * Lua function `reserve_quota(K, A)`, the reservation decision (a lua-steps.ts step, always the last: it returns a
 * reply). `K` and `A` are the keys and arguments of {@link QuotaLimiter.reservationRequest}; it returns
 * `{1, probe}` when granted (`probe` 1 for the call after a hold), `{0, waitMs}` when not yet, `{-1, 0}` when the
 * request can never fit.
 */
export const RESERVE_QUOTA_LUA = `
local function reserve_quota(K, A)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local window = tonumber(A[1])
  local rpm = tonumber(A[2])
  local tpm = tonumber(A[3])
  local id = A[4]
  local tokens = tonumber(A[5])
  if tokens > tpm then return {-1, 0} end
  local hold = redis.call('PTTL', K[3])
  if hold > 0 then return {0, hold + 1} end
  local hintTtl = redis.call('PTTL', K[4])
  local sreq = -1
  local stok = -1
  if hintTtl > 0 then
    sreq = tonumber(redis.call('HGET', K[4], 'req') or '-1')
    stok = tonumber(redis.call('HGET', K[4], 'tok') or '-1')
    if (sreq >= 0 and sreq < 1) or (stok >= 0 and stok < tokens) then return {0, hintTtl} end
  end
  redis.call('ZREMRANGEBYSCORE', K[1], '-inf', now - window)
  local raw = redis.call('GET', K[6])
  local used = 0
  if raw then
    used = tonumber(raw)
    local expired = redis.call('ZRANGEBYSCORE', K[2], '-inf', now - window)
    for i = 1, #expired do used = used - tonumber(string.match(expired[i], '|(%d+)$')) end
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', K[2], '-inf', now - window) end
  else
    redis.call('ZREMRANGEBYSCORE', K[2], '-inf', now - window)
    local all = redis.call('ZRANGE', K[2], 0, -1)
    for i = 1, #all do used = used + tonumber(string.match(all[i], '|(%d+)$')) end
  end
  used = math.max(0, used)
  redis.call('SET', K[6], used, 'PX', window)
  if redis.call('ZCARD', K[1]) >= rpm then
    local oldest = redis.call('ZRANGE', K[1], 0, 0, 'WITHSCORES')
    return {0, math.max(1, tonumber(oldest[2]) + window - now)}
  end
  if used + tokens > tpm then
    local entries = redis.call('ZRANGE', K[2], 0, -1, 'WITHSCORES')
    local excess = used + tokens - tpm
    local freed = 0
    for i = 1, #entries, 2 do
      freed = freed + tonumber(string.match(entries[i], '|(%d+)$'))
      if freed >= excess then return {0, math.max(1, tonumber(entries[i + 1]) + window - now)} end
    end
    return {0, window}
  end
  local gate = redis.call('GET', K[5])
  local probe = 0
  if gate then
    if gate ~= 'throttled' then return {0, math.max(1, math.min(tonumber(A[7]), redis.call('PTTL', K[5])))} end
    redis.call('SET', K[5], 'probe:' .. id, 'PX', tonumber(A[6]))
    probe = 1
  end
  redis.call('ZADD', K[1], now, id)
  redis.call('ZADD', K[2], now, id .. '|' .. tokens)
  redis.call('SET', K[6], used + tokens, 'PX', window)
  redis.call('PEXPIRE', K[1], window)
  redis.call('PEXPIRE', K[2], window)
  if hintTtl > 0 then
    if sreq >= 0 then redis.call('HINCRBY', K[4], 'req', -1) end
    if stok >= 0 then redis.call('HINCRBY', K[4], 'tok', -tokens) end
  end
  return {1, probe}
end
`;

const RESERVE = new LuaScript(`${RESERVE_QUOTA_LUA}\nreturn reserve_quota(KEYS, ARGV)`);

const HOLD = new LuaScript(`
local ms = tonumber(ARGV[1])
redis.call('SET', KEYS[1], '1', 'PX', ms, 'NX')
redis.call('PEXPIRE', KEYS[1], ms, 'GT')
redis.call('SET', KEYS[2], 'throttled', 'PX', redis.call('PTTL', KEYS[1]) + tonumber(ARGV[2]))
return 1
`);

/**
 * Lua function `settle_quota(K, A)` (a lua-steps.ts step; returns false). `K`: the deployment's `…:tok`, `…:toksum`,
 * `…:server`, `…:gate`. `A`: reservation id ('' for none), tokens reserved, tokens used, server-reported remaining
 * requests and tokens (-1 for unknown), how long to trust them in ms (0: no report), end the probe ('1' or '0').
 * Replaces the reservation's tokens by those used (the request stays counted: it was sent), records the server's
 * counts, and opens the probe gate if this reservation holds it.
 */
export const SETTLE_QUOTA_LUA = `
local function settle_quota(K, A)
  if A[1] ~= '' then
    local old = A[1] .. '|' .. A[2]
    local score = redis.call('ZSCORE', K[1], old)
    if score then
      redis.call('ZREM', K[1], old)
      if tonumber(A[3]) > 0 then redis.call('ZADD', K[1], score, A[1] .. '|' .. A[3]) end
      if redis.call('EXISTS', K[2]) == 1 then redis.call('INCRBY', K[2], tonumber(A[3]) - tonumber(A[2])) end
    end
  end
  if tonumber(A[6]) > 0 then
    redis.call('DEL', K[3])
    redis.call('HSET', K[3], 'req', A[4], 'tok', A[5])
    redis.call('PEXPIRE', K[3], A[6])
  end
  if A[7] == '1' and redis.call('GET', K[4]) == 'probe:' .. A[1] then redis.call('DEL', K[4]) end
  return false
end
`;

const SETTLE = new LuaScript(`${SETTLE_QUOTA_LUA}\nsettle_quota(KEYS, ARGV)\nreturn 1`);

/** A granted reservation; settle it with {@link QuotaLimiter.settlementStep} or {@link QuotaLimiter.settleAll}. */
export interface QuotaReservation {
  deployment: string;
  id: string;
  tokens: number;
  /** This call is the probe after a throttling hold: settle it with `endProbe` true, or set a new hold. */
  probe: boolean;
}

/** Outcome of {@link QuotaLimiter.tryReserve}. */
export type ReserveResult =
  | { granted: true; reservation: QuotaReservation }
  | { granted: false; waitMs: number }
  /** The request alone needs more tokens than the deployment's TPM: waiting cannot help. */
  | { granted: false; neverFits: true; waitMs: 0 };

/** A reservation about to be asked for: the `reserve_quota` step, and what names its answer. */
export interface QuotaRequest {
  deployment: string;
  id: string;
  /** Tokens reserved (prompt estimate + `max_tokens`, rounded up). */
  tokens: number;
  /** The step (six keys of the deployment, one hash slot; seven arguments). */
  step: LuaStep;
}

type Reply = [number, number];

/**
 * The server's remaining counts in `headers` (`x-ratelimit-remaining-requests` / `-tokens`, -1 where absent or
 * nonsense) and how long to trust them (`x-ratelimit-reset-*`, else {@link SERVER_HINT_DEFAULT_MS}, at most the
 * window), ms; undefined when neither count is there.
 */
function serverHint(headers: HeaderMap): { req: number; tok: number; ttlMs: number } | undefined {
  const req = remainingHeader(headers['x-ratelimit-remaining-requests']);
  const tok = remainingHeader(headers['x-ratelimit-remaining-tokens']);
  if (req === undefined && tok === undefined) return undefined;
  const resets = [resetHeaderMs(headers['x-ratelimit-reset-requests']), resetHeaderMs(headers['x-ratelimit-reset-tokens'])]
    .filter((v): v is number => v !== undefined && v > 0);
  return { req: req ?? -1, tok: tok ?? -1, ttlMs: Math.min(QUOTA_WINDOW_MS, resets.length > 0 ? Math.max(...resets) : SERVER_HINT_DEFAULT_MS) };
}

/** The limiter; one per coordinator, any number per Redis. */
export class QuotaLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private keys(deployment: string): [string, string, string, string, string, string] {
    const base = `${this.keyPrefix}:ai:quota:{${deployment}}`;
    return [`${base}:req`, `${base}:tok`, `${base}:hold`, `${base}:server`, `${base}:gate`, `${base}:toksum`];
  }

  /**
   * The `reserve_quota` step of a reservation of `tokens` (prompt estimate + `max_tokens`) on `m`; read its reply
   * with {@link reservationResult}.
   */
  reservationRequest(m: ModelDeployment, tokens: number): QuotaRequest {
    const id = randomUUID();
    const t = Math.max(0, Math.ceil(tokens));
    const args = [QUOTA_WINDOW_MS, m.quota.requestsPerMinute, m.quota.tokensPerMinute, id, t, PROBE_GATE_MS, PROBE_POLL_MS];
    return { deployment: m.name, id, tokens: t, step: { fn: 'reserve_quota', keys: this.keys(m.name), args } };
  }

  /** Reads the `{status, waitMs}` reply of `reserve_quota` for `req`. */
  reservationResult(req: QuotaRequest, status: number, waitMs: number): ReserveResult {
    if (status === 1) return { granted: true, reservation: { deployment: req.deployment, id: req.id, tokens: req.tokens, probe: waitMs === 1 } };
    if (status === -1) return { granted: false, neverFits: true, waitMs: 0 };
    return { granted: false, waitMs: Math.max(1, waitMs) };
  }

  /**
   * Reserves one request and `tokens` tokens on `m` if its windows, hold and server hints allow it now.
   * @param tokens prompt estimate + `max_tokens`.
   * @returns granted, or how long to wait (ms) before it could be, or `neverFits`.
   */
  async tryReserve(m: ModelDeployment, tokens: number): Promise<ReserveResult> {
    const req = this.reservationRequest(m, tokens);
    const [status, waitMs] = (await RESERVE.run(this.redis, req.step.keys, req.step.args)) as Reply;
    return this.reservationResult(req, status, waitMs);
  }

  /**
   * The `settle_quota` step of a sent attempt: the reservation's tokens replaced by `actualTokens` (the `usage`
   * total, 0 when the attempt failed), the server's `x-ratelimit-*` counts from `headers` recorded ({@link observe}),
   * and, when `endProbe` and `r` is the probe, the probe gate opened (a throttled probe keeps it closed instead).
   */
  settlementStep(r: QuotaReservation, actualTokens: number, headers: HeaderMap, endProbe: boolean): LuaStep {
    const k = this.keys(r.deployment);
    const hint = serverHint(headers);
    return {
      fn: 'settle_quota',
      keys: [k[1], k[5], k[3], k[4]],
      args: [r.id, r.tokens, Math.max(0, Math.round(actualTokens)), hint?.req ?? -1, hint?.tok ?? -1, hint?.ttlMs ?? 0, endProbe && r.probe ? '1' : '0'],
    };
  }

  /** {@link settlementStep} run on its own: one round trip. */
  async settleAll(r: QuotaReservation, actualTokens: number, headers: HeaderMap, endProbe: boolean): Promise<void> {
    const step = this.settlementStep(r, actualTokens, headers, endProbe);
    await SETTLE.run(this.redis, step.keys, step.args);
  }

  /**
   * Replaces a reservation's tokens by what the call really used (`usage` total), or by 0 when it failed.
   * The request itself stays counted: it was sent.
   */
  async settle(r: QuotaReservation, actualTokens: number): Promise<void> {
    await this.settleAll(r, actualTokens, {}, false);
  }

  /**
   * Holds every call to `deployment`, on every replica, for `ms` (a 429's retry-after, or the caller's backoff when
   * it named none); never shortens an existing hold. Closes the probe gate: when the hold ends, one call goes first.
   */
  async hold(deployment: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    const k = this.keys(deployment);
    await HOLD.run(this.redis, [k[2], k[4]], [Math.ceil(ms), GATE_AFTER_HOLD_MS]);
  }

  /**
   * Records the server's `x-ratelimit-remaining-requests` / `-tokens` until `x-ratelimit-reset-requests` /
   * `-tokens` (else {@link SERVER_HINT_DEFAULT_MS}). Headers that are absent or nonsense (-1) are ignored.
   */
  async observe(deployment: string, headers: HeaderMap): Promise<void> {
    const hint = serverHint(headers);
    if (!hint) return;
    const k = this.keys(deployment);
    await SETTLE.run(this.redis, [k[1], k[5], k[3], k[4]], ['', 0, 0, hint.req, hint.tok, hint.ttlMs, '0']);
  }
}
