/**
 * Exact-match response cache in Redis: `<prefix>:ai:cache:<sha256 of the normalised request>` → the answer text
 * (reasoning already stripped; for JSON, only an answer that validated). Errors and invalid answers are never
 * stored (an outside gateway replayed a cached 429: reference/ai-gateway-anchors.md §1, appstrate#436).
 * Redis failures never fail a model call: a read error is a miss, a write error is logged.
 *
 * Erasure index: every entry a call stores or is answered from is added to the set
 * `<prefix>:ai:cache-index:<analysisId>` of request hashes, in the same transaction as the entry (or the hit's usage
 * record), so GDPR erasure of an analysis (services/api/operations/erase-analysis.ts, which reads both key shapes)
 * finds every entry attributable to it. The set lives at least as long as the newest entry it lists (its TTL is
 * set to the cache TTL when it has none, and only ever lengthened).
 *
 * A coordinated call looks up and writes through the Lua functions {@link LOOKUP_CACHE_LUA} and
 * {@link STORE_CACHE_LUA}, run as steps of its two round trips (lua-steps.ts); {@link ResponseCache.first} and
 * {@link ResponseCache.put} do the same on their own.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.ts';
import { errorMessage } from '../platform/errors.ts';
import { LuaScript } from './lua-script.ts';
import type { LuaStep } from './lua-steps.ts';

/**
 * Lua function `lookup_cache(K, A)` (a lua-steps.ts step). `K`: entry keys in lookup order. Returns
 * `{i, entry}` for the first that exists, else false.
 */
export const LOOKUP_CACHE_LUA = `
local function lookup_cache(K, A)
  for i = 1, #K do
    local v = redis.call('GET', K[i])
    if v then return {i, v} end
  end
  return false
end
`;

/**
 * Lua function `store_cache(K, A)` (a lua-steps.ts step; returns false). `K`: the entry, the analysis's erasure
 * index. `A`: request hash, TTL s, the entry's JSON ('' to only list an existing entry in the index). A new index
 * gets the TTL (`EXPIRE … NX`); an existing one is only ever lengthened to it (`EXPIRE … GT`).
 */
export const STORE_CACHE_LUA = `
local function store_cache(K, A)
  if A[3] ~= '' then redis.call('SET', K[1], A[3], 'EX', A[2]) end
  redis.call('SADD', K[2], A[1])
  redis.call('EXPIRE', K[2], A[2], 'NX')
  redis.call('EXPIRE', K[2], A[2], 'GT')
  return false
end
`;

const STORE = new LuaScript(`${STORE_CACHE_LUA}\nstore_cache(KEYS, ARGV)\nreturn 1`);

/** What one cache entry holds. */
export interface CachedAnswer {
  text: string;
  /** Registry name and wire model id of the deployment that produced the answer. */
  modelName: string;
  model: string;
  /** ISO 8601 time it was stored. */
  storedAt: string;
}

/** Answers larger than this are not cached (bytes of UTF-16 text, roughly characters). */
export const MAX_CACHED_TEXT = 256 * 1024;

/** Reads a stored entry; undefined for a missing or damaged one (a damaged entry is a miss). */
export function parseCachedAnswer(raw: string | null): CachedAnswer | undefined {
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<CachedAnswer>;
    if (typeof v.text === 'string' && typeof v.modelName === 'string' && typeof v.model === 'string') {
      return { text: v.text, modelName: v.modelName, model: v.model, storedAt: String(v.storedAt ?? '') };
    }
  } catch {
    // a damaged entry is a miss
  }
  return undefined;
}

/** Key of the cache entry of request hash `hash`. */
export function cacheEntryKey(keyPrefix: string, hash: string): string {
  return `${keyPrefix}:ai:cache:${hash}`;
}

/** Key of the set of request hashes attributable to analysis `analysisId` (the erasure index). */
export function cacheIndexKey(keyPrefix: string, analysisId: string): string {
  return `${keyPrefix}:ai:cache-index:${analysisId}`;
}

/**
 * The cache. A `ttlSec` of 0 turns it off.
 *
 * Entries whose write is still queued or in flight (the coordinator's post-call write goes out on the next event-loop
 * turn: pending-writes.ts) are kept in memory until the write is answered ({@link putPending}), and a lookup looks
 * there first ({@link pendingHit}): the same request made again at once in this process (a loop over identical
 * keyframes) is still a hit, as it was when the write went out before the call returned.
 */
export class ResponseCache {
  /** Entries whose `store_cache` write is queued or in flight, by request hash, with the number of such writes. */
  private readonly pending = new Map<string, { answer: CachedAnswer; writes: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    /** Time to live of an entry, seconds. */
    readonly ttlSec: number,
    private readonly log: Logger,
  ) {}

  /** Whether the cache is on. */
  get enabled(): boolean {
    return this.ttlSec > 0;
  }

  /** Key of the entry of `hash`. */
  key(hash: string): string {
    return cacheEntryKey(this.keyPrefix, hash);
  }

  /**
   * Looks up several request hashes in one round trip (one per candidate deployment).
   * @returns the first hit in the order given, with its hash, or undefined.
   */
  async first(hashes: readonly string[]): Promise<{ hash: string; answer: CachedAnswer } | undefined> {
    if (!this.enabled || hashes.length === 0) return undefined;
    let raws: Array<string | null>;
    try {
      raws = await this.redis.mget(...hashes.map((h) => this.key(h)));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'ai response cache read failed; treating as a miss');
      return undefined;
    }
    for (let i = 0; i < hashes.length; i++) {
      const answer = parseCachedAnswer(raws[i] ?? null);
      const hash = hashes[i];
      if (answer && hash !== undefined) return { hash, answer };
    }
    return undefined;
  }

  /** The `lookup_cache` step over `hashes` (in order); read a hit with {@link parseCachedAnswer}. */
  lookupStep(hashes: readonly string[]): LuaStep {
    return { fn: 'lookup_cache', keys: hashes.map((h) => this.key(h)), args: [] };
  }

  /**
   * The `store_cache` step storing a successful, valid answer under `hash` for `ttlSec`, listed in the erasure
   * index of `analysisId`; undefined when the cache is off or the text is over {@link MAX_CACHED_TEXT}.
   */
  putStep(hash: string, answer: Omit<CachedAnswer, 'storedAt'>, analysisId: string): LuaStep | undefined {
    if (!this.enabled || answer.text.length > MAX_CACHED_TEXT) return undefined;
    const value: CachedAnswer = { ...answer, storedAt: new Date().toISOString() };
    return { fn: 'store_cache', keys: [this.key(hash), cacheIndexKey(this.keyPrefix, analysisId)], args: [hash, this.ttlSec, JSON.stringify(value)] };
  }

  /**
   * {@link putStep}, and the entry kept in memory for {@link pendingHit} until `release` is called: call it when the
   * write carrying `step` has been answered, successfully or not. Undefined when `putStep` is.
   */
  putPending(hash: string, answer: Omit<CachedAnswer, 'storedAt'>, analysisId: string): { step: LuaStep; release(): void } | undefined {
    const step = this.putStep(hash, answer, analysisId);
    if (!step) return undefined;
    const known = this.pending.get(hash);
    const held = known ?? { answer: { ...answer, storedAt: new Date().toISOString() }, writes: 0 };
    held.writes += 1;
    if (!known) this.pending.set(hash, held);
    let released = false;
    return {
      step,
      release: () => {
        if (released) return;
        released = true;
        held.writes -= 1;
        if (held.writes === 0 && this.pending.get(hash) === held) this.pending.delete(hash);
      },
    };
  }

  /** The first of `hashes` (in order) whose entry is still on its way to Redis ({@link putPending}), or undefined. */
  pendingHit(hashes: readonly string[]): { hash: string; answer: CachedAnswer } | undefined {
    if (this.pending.size === 0) return undefined;
    for (const hash of hashes) {
      const held = this.pending.get(hash);
      if (held) return { hash, answer: held.answer };
    }
    return undefined;
  }

  /** The `store_cache` step listing entry `hash` (a hit served to `analysisId`) in that analysis's erasure index. */
  indexStep(hash: string, analysisId: string): LuaStep | undefined {
    if (!this.enabled) return undefined;
    return { fn: 'store_cache', keys: [this.key(hash), cacheIndexKey(this.keyPrefix, analysisId)], args: [hash, this.ttlSec, ''] };
  }

  /** Stores a successful, valid answer under `hash` for `ttlSec`, indexed for `analysisId`. Never throws. */
  async put(hash: string, answer: Omit<CachedAnswer, 'storedAt'>, analysisId: string): Promise<void> {
    const step = this.putStep(hash, answer, analysisId);
    if (!step) return;
    try {
      await STORE.run(this.redis, step.keys, step.args);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'ai response cache write failed');
    }
  }
}
