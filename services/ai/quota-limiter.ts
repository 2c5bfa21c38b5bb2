/**
 * Client-side RPM/TPM limiting per model deployment, shared by every replica through Redis (one Lua script per
 * decision, so concurrent reservations cannot both take the last slot).
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

const RESERVE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local id = ARGV[4]
local tokens = tonumber(ARGV[5])
if tokens > tpm then return {-1, 0} end
local hold = redis.call('PTTL', KEYS[3])
if hold > 0 then return {0, hold + 1} end
local hintTtl = redis.call('PTTL', KEYS[4])
local sreq = -1
local stok = -1
if hintTtl > 0 then
  sreq = tonumber(redis.call('HGET', KEYS[4], 'req') or '-1')
  stok = tonumber(redis.call('HGET', KEYS[4], 'tok') or '-1')
  if (sreq >= 0 and sreq < 1) or (stok >= 0 and stok < tokens) then return {0, hintTtl} end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local raw = redis.call('GET', KEYS[6])
local used = 0
if raw then
  used = tonumber(raw)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
  for i = 1, #expired do used = used - tonumber(string.match(expired[i], '|(%d+)$')) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window) end
else
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  local all = redis.call('ZRANGE', KEYS[2], 0, -1)
  for i = 1, #all do used = used + tonumber(string.match(all[i], '|(%d+)$')) end
end
used = math.max(0, used)
redis.call('SET', KEYS[6], used, 'PX', window)
if redis.call('ZCARD', KEYS[1]) >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
if used + tokens > tpm then
  local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  local excess = used + tokens - tpm
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + tonumber(string.match(entries[i], '|(%d+)$'))
    if freed >= excess then return {0, math.max(1, tonumber(entries[i + 1]) + window - now)} end
  end
  return {0, window}
end
local gate = redis.call('GET', KEYS[5])
local probe = 0
if gate then
  if gate ~= 'throttled' then return {0, math.max(1, math.min(tonumber(ARGV[7]), redis.call('PTTL', KEYS[5])))} end
  redis.call('SET', KEYS[5], 'probe:' .. id, 'PX', tonumber(ARGV[6]))
  probe = 1
end
redis.call('ZADD', KEYS[1], now, id)
redis.call('ZADD', KEYS[2], now, id .. '|' .. tokens)
redis.call('SET', KEYS[6], used + tokens, 'PX', window)
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
if hintTtl > 0 then
  if sreq >= 0 then redis.call('HINCRBY', KEYS[4], 'req', -1) end
  if stok >= 0 then redis.call('HINCRBY', KEYS[4], 'tok', -tokens) end
end
return {1, probe}
`);

const HOLD = new LuaScript(`
local ms = tonumber(ARGV[1])
redis.call('SET', KEYS[1], '1', 'PX', ms, 'NX')
redis.call('PEXPIRE', KEYS[1], ms, 'GT')
redis.call('SET', KEYS[2], 'throttled', 'PX', redis.call('PTTL', KEYS[1]) + tonumber(ARGV[2]))
return 1
`);

const END_PROBE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

const CORRECT = new LuaScript(`
local old = ARGV[1] .. '|' .. ARGV[2]
local score = redis.call('ZSCORE', KEYS[1], old)
if not score then return 0 end
redis.call('ZREM', KEYS[1], old)
if tonumber(ARGV[3]) > 0 then redis.call('ZADD', KEYS[1], score, ARGV[1] .. '|' .. ARGV[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]) - tonumber(ARGV[2])) end
return 1
`);

/** A granted reservation; give it back to {@link QuotaLimiter.settle}. */
export interface QuotaReservation {
  deployment: string;
  id: string;
  tokens: number;
  /** This call is the probe after a throttling hold: end it with {@link QuotaLimiter.endProbe} or a new hold. */
  probe: boolean;
}

/** Outcome of {@link QuotaLimiter.tryReserve}. */
export type ReserveResult =
  | { granted: true; reservation: QuotaReservation }
  | { granted: false; waitMs: number }
  /** The request alone needs more tokens than the deployment's TPM: waiting cannot help. */
  | { granted: false; neverFits: true; waitMs: 0 };

type Reply = [number, number];

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
   * Reserves one request and `tokens` tokens on `m` if its windows, hold and server hints allow it now.
   * @param tokens prompt estimate + `max_tokens`.
   * @returns granted, or how long to wait (ms) before it could be, or `neverFits`.
   */
  async tryReserve(m: ModelDeployment, tokens: number): Promise<ReserveResult> {
    const id = randomUUID();
    const t = Math.max(0, Math.ceil(tokens));
    const [status, waitMs] = (await RESERVE.run(this.redis, this.keys(m.name), [QUOTA_WINDOW_MS, m.quota.requestsPerMinute, m.quota.tokensPerMinute, id, t, PROBE_GATE_MS, PROBE_POLL_MS])) as Reply;
    if (status === 1) return { granted: true, reservation: { deployment: m.name, id, tokens: t, probe: waitMs === 1 } };
    if (status === -1) return { granted: false, neverFits: true, waitMs: 0 };
    return { granted: false, waitMs: Math.max(1, waitMs) };
  }

  /**
   * Replaces a reservation's tokens by what the call really used (`usage` total), or by 0 when it failed.
   * The request itself stays counted: it was sent.
   */
  async settle(r: QuotaReservation, actualTokens: number): Promise<void> {
    const k = this.keys(r.deployment);
    await CORRECT.run(this.redis, [k[1], k[5]], [r.id, r.tokens, Math.max(0, Math.round(actualTokens))]);
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
   * Opens the probe gate after the probe `r` answered or failed for a reason other than throttling (a 429 calls
   * {@link hold} instead). No-op for a reservation that is not the current probe.
   */
  async endProbe(r: QuotaReservation): Promise<void> {
    if (r.probe) await END_PROBE.run(this.redis, [this.keys(r.deployment)[4]], [`probe:${r.id}`]);
  }

  /**
   * Records the server's `x-ratelimit-remaining-requests` / `-tokens` until `x-ratelimit-reset-requests` /
   * `-tokens` (else {@link SERVER_HINT_DEFAULT_MS}). Headers that are absent or nonsense (-1) are ignored.
   */
  async observe(deployment: string, headers: HeaderMap): Promise<void> {
    const req = remainingHeader(headers['x-ratelimit-remaining-requests']);
    const tok = remainingHeader(headers['x-ratelimit-remaining-tokens']);
    if (req === undefined && tok === undefined) return;
    const resets = [resetHeaderMs(headers['x-ratelimit-reset-requests']), resetHeaderMs(headers['x-ratelimit-reset-tokens'])]
      .filter((v): v is number => v !== undefined && v > 0);
    const ttl = Math.min(QUOTA_WINDOW_MS, resets.length > 0 ? Math.max(...resets) : SERVER_HINT_DEFAULT_MS);
    const key = this.keys(deployment)[3];
    await this.redis.multi().del(key).hset(key, { req: req ?? -1, tok: tok ?? -1 }).pexpire(key, ttl).exec();
  }
}
