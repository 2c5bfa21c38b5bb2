/**
 * auth/verified-token-cache.ts: the same token verifies once per maxAgeMs; a hit never outlives the token's exp or
 * precedes its nbf; failures are never cached; a changed token always misses; the cache is bounded.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDevIssuer } from '../../devstack/dev-keys.ts';
import { AuthError } from '../../services/platform/errors.ts';
import { createJwtVerifier, type TokenVerifier } from '../../services/api/auth/jwt-verifier.ts';
import { cachingVerifier } from '../../services/api/auth/verified-token-cache.ts';
import { tokenKey } from '../../services/api/rate-limits.ts';

const issuer = await createDevIssuer();
const real = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, algorithms: ['ES256'], publicKeyPem: issuer.publicKeyPem });

/** The real verifier, counting its calls. */
function counted(): { verify: TokenVerifier; calls: () => number } {
  let calls = 0;
  return {
    verify: async (t) => {
      calls++;
      return real(t);
    },
    calls: () => calls,
  };
}

const cache = suite('cachingVerifier');

cache('the same token is verified once within maxAgeMs, then again', async () => {
  let clock = Date.now();
  const c = counted();
  const verify = cachingVerifier(c.verify, { maxAgeMs: 60_000, now: () => clock });
  const t = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: 'analyses:read' });
  const first = await verify(t);
  const second = await verify(t);
  assert.equal(second, first);
  assert.is(c.calls(), 1);
  clock += 60_001;
  await verify(t);
  assert.is(c.calls(), 2, 'reverified after maxAgeMs');
});

cache('a hit never outlives exp: after it the full verifier decides (and refuses)', async () => {
  let clock = Date.now();
  const c = counted();
  const verify = cachingVerifier(c.verify, { maxAgeMs: 3_600_000, now: () => clock });
  const t = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: '' }, { expiresIn: 2 });
  await verify(t);
  clock += 2_500;
  await verify(t).catch(() => undefined);
  assert.is(c.calls(), 2, 'past exp the cache is not used');
});

cache('failures are not cached, and a token differing in one character misses', async () => {
  const c = counted();
  const verify = cachingVerifier(c.verify);
  const good = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: '' });
  const bad = `${good.slice(0, -2)}${good.endsWith('A') ? 'B' : 'A'}${good.slice(-1)}`;
  for (let i = 0; i < 2; i++) {
    try {
      await verify(bad);
      assert.unreachable('a tampered token must fail');
    } catch (err) {
      assert.instance(err, AuthError);
    }
  }
  assert.is(c.calls(), 2);
  await verify(good);
  await verify(good);
  assert.is(c.calls(), 3);
});

cache('at most maxEntries are kept; the least recently used goes first', async () => {
  const c = counted();
  const verify = cachingVerifier(c.verify, { maxEntries: 2 });
  const [a, b, d] = await Promise.all(['a', 'b', 'd'].map((sub) => issuer.mint({ sub, tenant_id: 'acme', scope: '' })));
  await verify(a!);
  await verify(b!);
  await verify(a!); // a is now the most recent
  await verify(d!); // evicts b
  assert.is(c.calls(), 3);
  await verify(a!);
  assert.is(c.calls(), 3, 'a stayed');
  await verify(b!);
  assert.is(c.calls(), 4, 'b was evicted');
});

cache('peek answers from the cache without verifying: only a cached, still valid token of that key', async () => {
  let clock = Date.now();
  const c = counted();
  const verify = cachingVerifier(c.verify, { maxAgeMs: 60_000, now: () => clock });
  const t = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: 'analyses:read' });
  assert.is(verify.peek(tokenKey(t)), undefined, 'nothing cached yet');
  const principal = await verify(t);
  assert.equal(verify.peek(tokenKey(t)), principal);
  assert.is(verify.peek(tokenKey(`${t}x`)), undefined, 'another token misses');
  assert.is(c.calls(), 1, 'peek never verifies');
  clock += 60_001;
  assert.is(verify.peek(tokenKey(t)), undefined, 'expired after maxAgeMs');
});

cache.run();
