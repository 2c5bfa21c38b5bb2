/**
 * Rate limits in Redis per tenant, per token and (without a valid token) per client address: 429 rate_limited in
 * the envelope with Retry-After and the RateLimit-* fields, limits shared by replicas, X-Forwarded-For read only
 * from trusted proxies, token guessing throttled, and the RateLimit fields on every /v1 response.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createApp } from '../../services/api/app.ts';
import { listen } from '../../services/platform/http-server.ts';
import { OPEN_PATHS } from '../../services/api/middleware/auth.ts';
import { createLogger } from '../../services/platform/logger.ts';
import { createJwtVerifier } from '../../services/api/auth/jwt-verifier.ts';
import { RequestValidators } from '../../services/api/openapi.ts';
import { errorOf, startApiHarness, TEST_BUCKET, type ApiHarness, type ApiResponse } from './api-harness.ts';

const lim: ApiHarness = await startApiHarness('api-ratelimit', {
  env: { API_RATE_LIMIT_PER_TENANT_PER_MIN: '5', API_RATE_LIMIT_PER_TOKEN_PER_MIN: '3', API_RATE_LIMIT_PER_CLIENT_PER_MIN: '4', API_TRUSTED_PROXIES: '127.0.0.1/32, ::1' },
});

const errorSchema = new RequestValidators(lim.api.document).schema('/components/schemas/ErrorEnvelope');

function headersOf(r: ApiResponse): { limit: number; remaining: number; reset: number; policy: string } {
  const get = (n: string): string => {
    const v = r.headers.get(n);
    if (v === null) throw new Error(`${n} missing on ${r.status} ${r.text.slice(0, 200)}`);
    return v;
  };
  return { limit: Number(get('ratelimit-limit')), remaining: Number(get('ratelimit-remaining')), reset: Number(get('ratelimit-reset')), policy: get('ratelimit-policy') };
}

function assertLimited(r: ApiResponse, limiter: string): void {
  assert.is(r.status, 429, r.text.slice(0, 300));
  assert.ok(errorSchema(r.body), JSON.stringify(errorSchema.errors));
  const e = errorOf(r);
  assert.is(e.code, 'rate_limited');
  assert.match(e.message, new RegExp(`per ${limiter}`));
  assert.is(e.requestId, r.headers.get('x-request-id'));
  const retryAfter = Number(r.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  const h = headersOf(r);
  assert.is(h.remaining, 0);
  assert.is(h.reset, retryAfter);
}

const authd = suite('tenant and token limits');

authd('a success carries the tighter limit: RateLimit-Limit, -Remaining, -Reset and -Policy', async () => {
  const t = await lim.token('', { tenant_id: 'hdr' });
  const r = await lim.call('GET', '/v1/openapi.json', { token: t });
  assert.is(r.status, 200);
  const h = headersOf(r);
  assert.equal([h.limit, h.remaining], [3, 2]);
  assert.ok(h.reset >= 1 && h.reset <= 60, `reset ${h.reset}`);
  assert.is(h.policy, '5;w=60;comment="tenant", 3;w=60;comment="token"');
});

authd('a token over its limit gets 429; another token of the tenant goes on until the tenant limit', async () => {
  const a = await lim.token('', { tenant_id: 'busy' });
  const b = await lim.token('', { tenant_id: 'busy', sub: 'user-2' });
  for (let i = 0; i < 3; i++) assert.is((await lim.call('GET', '/v1/openapi.json', { token: a })).status, 200);
  assertLimited(await lim.call('GET', '/v1/openapi.json', { token: a }), 'token');
  // The refused request still counted for the tenant (4 of 5): b's first request is the tenant's last.
  const last = await lim.call('GET', '/v1/openapi.json', { token: b });
  assert.is(last.status, 200);
  assert.equal([headersOf(last).limit, headersOf(last).remaining], [5, 0]);
  assertLimited(await lim.call('GET', '/v1/openapi.json', { token: b }), 'tenant');
  // Other tenants are not affected.
  assert.is((await lim.call('GET', '/v1/openapi.json', { token: await lim.token('', { tenant_id: 'calm' }) })).status, 200);
});

authd('the limit holds across API replicas sharing Redis', async () => {
  const replica = createApp({
    config: lim.config, redis: lim.redis, queue: lim.queue, store: lim.store, s3: lim.s3, bucket: TEST_BUCKET,
    logger: createLogger('api', 'silent'),
    verifier: createJwtVerifier({ issuer: lim.issuer.issuer, audience: lim.issuer.audience, algorithms: ['ES256'], publicKeyPem: lim.issuer.publicKeyPem }),
  });
  const second = await listen(replica.app.callback(), { host: '127.0.0.1', port: 0 });
  try {
    const t = await lim.token('', { tenant_id: 'replicated' });
    const get = (base: string): Promise<number> => fetch(`${base}/v1/openapi.json`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
    assert.equal([await get(lim.baseUrl), await get(second.url), await get(lim.baseUrl), await get(second.url)], [200, 200, 200, 429]);
  } finally {
    await second.close(1000);
  }
});

authd('Redis holds a hash of the token, never the token', async () => {
  const t = await lim.token('', { tenant_id: 'hashed' });
  await lim.call('GET', '/v1/openapi.json', { token: t });
  const keys = await lim.redis.keys(`${lim.config.REDIS_KEY_PREFIX}:rl:*`);
  const tokenKeys = keys.filter((k) => k.includes(':rl:token:'));
  assert.ok(tokenKeys.length > 0);
  for (const k of tokenKeys) assert.match(k, /:rl:token:[0-9a-f]{32}$/);
  const sig = t.split('.')[2] ?? '';
  for (const k of keys) assert.not.ok(k.includes(sig) || k.includes(t), k);
});

authd('rejections are counted in the metrics by limiter', async () => {
  const text = (await lim.api.metrics.render()).body;
  assert.match(text, /api_rate_limit_rejections_total\{limiter="token"\} 1\b/);
  assert.match(text, /api_rate_limit_rejections_total\{limiter="tenant"\} 1\b/);
});

const client = suite('client-address limit');

client('/healthz is limited per client address; behind a trusted proxy the rightmost untrusted X-Forwarded-For entry is the client', async () => {
  const xff = { 'x-forwarded-for': '198.51.100.7' };
  for (let i = 0; i < 4; i++) assert.is((await lim.call('GET', '/healthz', { headers: xff })).status, 200);
  assertLimited(await lim.call('GET', '/healthz', { headers: xff }), 'client');
  // Prepending an address of one's choice does not make a new client: the proxy appended the real one last.
  assertLimited(await lim.call('GET', '/healthz', { headers: { 'x-forwarded-for': '203.0.113.1, 198.51.100.7' } }), 'client');
  // Another client behind the same proxy has its own budget, and so has the proxy itself.
  const other = await lim.call('GET', '/healthz', { headers: { 'x-forwarded-for': '198.51.100.8' } });
  assert.is(other.status, 200);
  assert.equal([headersOf(other).limit, headersOf(other).remaining, headersOf(other).policy], [4, 3, '4;w=60;comment="client"']);
  assert.is((await lim.call('GET', '/readyz')).status, 200);
});

client('failed authentication counts against the client: guessing tokens ends in 429, a valid token still works', async () => {
  const xff = { 'x-forwarded-for': '192.0.2.50' };
  for (let i = 0; i < 4; i++) {
    const r = await lim.call('GET', '/v1/openapi.json', { token: `forged.${i}.token`, headers: xff });
    assert.is(r.status, 401);
    assert.is(headersOf(r).remaining, 3 - i, 'a 401 carries the client limit');
  }
  assertLimited(await lim.call('GET', '/v1/openapi.json', { token: 'forged.5.token', headers: xff }), 'client');
  assertLimited(await lim.call('GET', '/v1/openapi.json', { headers: xff }), 'client');
  const valid = await lim.call('GET', '/v1/openapi.json', { token: await lim.token('', { tenant_id: 'guessed-from' }), headers: xff });
  assert.is(valid.status, 200);
});

client('without trusted proxies X-Forwarded-For is ignored: varying it does not escape the limit', async () => {
  const plain = await startApiHarness('api-ratelimit-plain', { env: { API_RATE_LIMIT_PER_CLIENT_PER_MIN: '2' } });
  try {
    assert.is((await plain.call('GET', '/healthz', { headers: { 'x-forwarded-for': '10.0.0.1' } })).status, 200);
    assert.is((await plain.call('GET', '/healthz', { headers: { 'x-forwarded-for': '10.0.0.2' } })).status, 200);
    assertLimited(await plain.call('GET', '/healthz', { headers: { 'x-forwarded-for': '10.0.0.3' } }), 'client');
  } finally {
    await plain.close();
  }
});

client.after(async () => {
  await lim.close();
});

const every = suite('RateLimit fields on every /v1 response');

every('every route, with and without a token, and unknown paths carry them', async () => {
  const w = await startApiHarness('api-ratelimit-every');
  try {
    const token = await w.token('analyses:read analyses:write admin');
    const urlOf = (p: string): string => p.replace(/:id\b/, 'an_0123456789abcdef0123456789abcdef');
    for (const route of w.api.routes.filter((r) => !OPEN_PATHS.has(r.path))) {
      for (const t of [token, undefined]) {
        const r = await w.call(route.method, urlOf(route.path), { ...(t ? { token: t } : {}), ...(route.method === 'POST' ? { body: {} } : {}) });
        const h = headersOf(r);
        assert.ok(h.limit > 0 && h.remaining >= 0, `${route.method} ${route.path} ${r.status}`);
      }
    }
    headersOf(await w.call('GET', '/v1/no-such-thing', { token }));
    headersOf(await w.call('PUT', '/v1/drift', { token }));
  } finally {
    await w.close();
  }
});

authd.run();
client.run();
every.run();
