/**
 * Exact-match response cache in Redis: `<prefix>:ai:cache:<sha256 of the normalised request>` → the answer text
 * (reasoning already stripped; for JSON, only an answer that validated). Errors and invalid answers are never
 * stored (an outside gateway replayed a cached 429: reference/ai-gateway-anchors.md §1, appstrate#436).
 * Redis failures never fail a model call: a read error is a miss, a write error is logged.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.ts';
import { errorMessage } from '../platform/errors.ts';

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

function parse(raw: string | null): CachedAnswer | undefined {
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

/** The cache. A `ttlSec` of 0 turns it off. */
export class ResponseCache {
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

  private key(hash: string): string {
    return `${this.keyPrefix}:ai:cache:${hash}`;
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
      const answer = parse(raws[i] ?? null);
      const hash = hashes[i];
      if (answer && hash !== undefined) return { hash, answer };
    }
    return undefined;
  }

  /** Stores a successful, valid answer under `hash` for `ttlSec`. Never throws. */
  async put(hash: string, answer: Omit<CachedAnswer, 'storedAt'>): Promise<void> {
    if (!this.enabled || answer.text.length > MAX_CACHED_TEXT) return;
    const value: CachedAnswer = { ...answer, storedAt: new Date().toISOString() };
    try {
      await this.redis.set(this.key(hash), JSON.stringify(value), 'EX', this.ttlSec);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'ai response cache write failed');
    }
  }
}
