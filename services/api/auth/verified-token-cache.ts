/**
 * A bounded cache of successful token verifications, so a client that sends the same bearer token on every request
 * (every browser session does) pays for the signature check once a minute instead of on every request. An ES256
 * verification costs far more CPU than the rest of a `GET /v1/analyses/{id}`: in bench/api-load.ts it capped the
 * API at about a tenth of a bare server's throughput.
 *
 * Safety rules:
 * - the key is the SHA-256 of the whole token (its first 128 bits: rate-limits.ts `tokenKey`, computed once per
 *   request by middleware/auth.ts and passed in), so only the identical string hits (any change to header, claims or
 *   signature misses and is verified in full; forging a hit needs a 128-bit second preimage);
 * - only successes are cached; a failure is verified again every time (and counted by the client rate limit);
 * - a hit is honoured only while `now < exp` and `now >= nbf` from the token's own claims, and at most `maxAgeMs`
 *   after the verification, so a key the identity provider withdraws from its JWKS stops working within
 *   `maxAgeMs` (60 s by default; RFC 7517 key rotation happens over hours);
 * - at most `maxEntries` entries (least recently used evicted), and the cache holds hashes and principals only,
 *   never a token.
 */
import { decodeJwt } from 'jose';
import { tokenKey } from '../rate-limits.ts';
import type { TokenVerifier } from './jwt-verifier.ts';
import type { Principal } from './principal.ts';

/** Options of {@link cachingVerifier}. */
export interface VerifiedTokenCacheOptions {
  /** Entries kept at most. @defaultValue 10000 */
  maxEntries?: number;
  /** Longest time a verification is reused, ms. @defaultValue 60000 */
  maxAgeMs?: number;
  /** Clock, ms since the epoch (tests). @defaultValue Date.now */
  now?: () => number;
}

/** Defaults of {@link VerifiedTokenCacheOptions}. */
export const DEFAULT_VERIFIED_TOKEN_CACHE = { maxEntries: 10_000, maxAgeMs: 60_000 } as const;

interface Entry {
  principal: Principal;
  /** Usable while now < untilMs (min of exp and verification time + maxAgeMs). */
  untilMs: number;
  /** Not usable before this (nbf), ms. */
  fromMs: number;
}

/**
 * A verifier that may be given the token's cache key (`tokenKey(token)`) when the caller has already computed it,
 * and whose cache can be asked without waiting.
 */
export interface KeyedTokenVerifier {
  (token: string, key?: string): ReturnType<TokenVerifier>;
  /** The caller of the token whose key is `key` when a verification of it is cached and still valid now, else `undefined`. */
  peek(key: string): Principal | undefined;
}

/** Wraps `verify` with the cache. The wrapper throws exactly what `verify` throws. */
export function cachingVerifier(verify: TokenVerifier, o: VerifiedTokenCacheOptions = {}): KeyedTokenVerifier {
  const maxEntries = Math.max(1, o.maxEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE.maxEntries);
  const maxAgeMs = Math.max(0, o.maxAgeMs ?? DEFAULT_VERIFIED_TOKEN_CACHE.maxAgeMs);
  const now = o.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const peek = (key: string): Principal | undefined => {
    const hit = entries.get(key);
    if (!hit) return undefined;
    entries.delete(key);
    const t = now();
    if (t < hit.untilMs && t >= hit.fromMs) {
      entries.set(key, hit); // most recently used goes last
      return hit.principal;
    }
    return undefined;
  };
  const verifyKeyed = async (token: string, precomputedKey?: string): Promise<Principal> => {
    const key = precomputedKey ?? tokenKey(token);
    const cached = peek(key);
    if (cached) return cached;
    const t = now();
    const principal = await verify(token);
    // The token verified, so its payload decodes; exp is required by the verifier.
    const { exp, nbf } = decodeJwt(token);
    const untilMs = Math.min(typeof exp === 'number' ? exp * 1000 : t, now() + maxAgeMs);
    if (untilMs > t) {
      entries.set(key, { principal, untilMs, fromMs: typeof nbf === 'number' ? nbf * 1000 : 0 });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    }
    return principal;
  };
  return Object.assign(verifyKeyed, { peek });
}
