/**
 * Rate limiting of every request (rate-limits.ts), in two middlewares around authentication (see app.ts):
 *
 * - {@link limitAnonymous}, before `authenticate`: an open path (`/healthz`, `/readyz`) counts against the
 *   client-address limit; a /v1 request that fails authentication (401) counts against it afterwards, and once the
 *   address is over its limit the 401 becomes 429, so guessing tokens is throttled like anything else.
 * - {@link limitAuthenticated}, after `authenticate`: the tenant and token limits.
 *
 * Every response that reached a decision carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and
 * `RateLimit-Policy`; a 429 adds `Retry-After` (middleware/errors.ts, from RateLimitedError). The only /v1
 * responses without them are 503s raised while the identity provider is unreachable (no decision was made).
 */
import { AuthError } from '../../platform/errors.ts';
import type { ApiContext, ApiMiddleware } from '../context.ts';
import { RateLimitedError, type LimiterName, type RateDecision, type RateLimits } from '../rate-limits.ts';

/** Called once per rejected request, with the limiter that rejected it (for metrics). */
export type OnRateLimited = (limiter: LimiterName) => void;

/** Sets the RateLimit fields (lower-case names, as middleware/security-headers.ts explains). */
function publish(ctx: ApiContext, d: RateDecision, policy: string): void {
  const res = ctx.res;
  res.setHeader('ratelimit-limit', String(d.limit));
  res.setHeader('ratelimit-remaining', String(d.remaining));
  res.setHeader('ratelimit-reset', String(d.resetSec));
  res.setHeader('ratelimit-policy', policy);
}

/** Publishes a rejection's decision (and counts it) before it is rethrown. */
function published(ctx: ApiContext, err: unknown, policy: string, onLimited: OnRateLimited): unknown {
  if (err instanceof RateLimitedError) {
    publish(ctx, err.decision, policy);
    onLimited(err.decision.limiter);
  }
  return err;
}

/** Consumes one request of `consume`, publishing its decision; rethrows a rejection after publishing it. */
async function decide(ctx: ApiContext, consume: () => Promise<RateDecision>, policy: string, onLimited: OnRateLimited): Promise<void> {
  try {
    publish(ctx, await consume(), policy);
  } catch (err) {
    throw published(ctx, err, policy, onLimited);
  }
}

/**
 * The client-address limit for requests without a valid token.
 * @param openPaths paths served without a token (middleware/auth.ts OPEN_PATHS).
 */
export function limitAnonymous(limits: RateLimits, openPaths: ReadonlySet<string>, onLimited: OnRateLimited): ApiMiddleware {
  const policy = limits.policy('client');
  return async (ctx, next) => {
    if (openPaths.has(ctx.path)) {
      await decide(ctx, () => limits.consume('client', ctx.state.clientAddress), policy, onLimited);
      return next();
    }
    try {
      await next();
    } catch (err) {
      if (err instanceof AuthError && err.status === 401 && ctx.state.principal === undefined) {
        await decide(ctx, () => limits.consume('client', ctx.state.clientAddress), policy, onLimited);
      }
      throw err;
    }
  };
}

/**
 * The tenant and token limits; must run right after `authenticate`. When both local leases can answer (nearly every
 * request of a busy caller) the decision is made without waiting (rate-leases.ts).
 */
export function limitAuthenticated(limits: RateLimits, onLimited: OnRateLimited): ApiMiddleware {
  const policy = limits.policy('authenticated');
  return (ctx, next) => {
    const { principal, tokenId } = ctx.state;
    if (!principal || !tokenId) return next();
    let decision: RateDecision | undefined;
    try {
      decision = limits.tryConsumeAuthenticated(principal.tenantId, tokenId);
    } catch (err) {
      throw published(ctx, err, policy, onLimited);
    }
    if (decision) {
      publish(ctx, decision, policy);
      return next();
    }
    return decide(ctx, () => limits.consumeAuthenticated(principal.tenantId, tokenId), policy, onLimited).then(() => next());
  };
}
