/**
 * GET /healthz, GET /readyz, and what every response shares: the envelope, X-Request-Id, security headers, and the
 * envelope on router-level 404/405.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../devstack/standins/ports.ts';
import { dataOf, errorOf, startApiHarness, type ApiHarness } from './api-harness.ts';

const harness: ApiHarness = await startApiHarness('api-health');
const h = (): ApiHarness => harness;
const ctx: { down?: ApiHarness } = {};

const health = suite('GET /healthz and GET /readyz');
health.after(async () => {
  await ctx.down?.close();
});

health('/healthz answers 200 { data: { status: ok } } without a token', async () => {
  const r = await h().call('GET', '/healthz');
  assert.is(r.status, 200);
  assert.equal(r.body, { data: { status: 'ok' } });
});

health('/readyz answers 200 with an ok redis check without a token', async () => {
  const r = await h().call('GET', '/readyz');
  assert.is(r.status, 200);
  const data = dataOf<{ status: string; checks: Array<{ name: string; outcome: string }> }>(r);
  assert.is(data.status, 'ready');
  assert.equal(data.checks.map((c) => [c.name, c.outcome]), [['redis', 'ok']]);
});

health('/readyz answers 503 not_ready in the envelope when Redis is unreachable', async () => {
  const closedPort = await freePort();
  ctx.down = await startApiHarness('api-health-down', { appRedisUrl: `redis://127.0.0.1:${closedPort}` });
  const r = await ctx.down.call('GET', '/readyz');
  assert.is(r.status, 503);
  const e = errorOf(r);
  assert.is(e.code, 'not_ready');
  assert.match(e.message, /redis/);
  assert.is(e.requestId, r.headers.get('x-request-id'));
  const checks = (e.details as { checks: Array<{ name: string; outcome: string; reason: string }> }).checks;
  assert.is(checks[0]?.outcome, 'failed');
  assert.not.match(JSON.stringify(e), new RegExp(String(closedPort)), 'the open endpoint must not reveal where Redis is');
  // Liveness does not depend on Redis.
  assert.is((await ctx.down.call('GET', '/healthz')).status, 200);
});

const shared = suite('every response');

shared.after(async () => {
  await harness.close();
});

shared('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
  const kept = await h().call('GET', '/healthz', { headers: { 'x-request-id': 'abc-123.x:y_z' } });
  assert.is(kept.headers.get('x-request-id'), 'abc-123.x:y_z');
  const unsafe = await h().call('GET', '/healthz', { headers: { 'x-request-id': 'a b"c' } });
  assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const long = await h().call('GET', '/healthz', { headers: { 'x-request-id': 'x'.repeat(129) } });
  assert.match(long.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const none = await h().call('GET', '/healthz');
  assert.match(none.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

shared('carries the security headers, and no-store under /v1', async () => {
  const open = await h().call('GET', '/healthz');
  assert.is(open.headers.get('x-content-type-options'), 'nosniff');
  assert.is(open.headers.get('x-frame-options'), 'DENY');
  assert.match(open.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.is(open.headers.get('strict-transport-security'), null, 'no HSTS in the dev profile');
  const v1 = await h().call('GET', '/v1/drift');
  assert.is(v1.status, 401);
  assert.is(v1.headers.get('cache-control'), 'no-store');
  assert.is(v1.headers.get('x-content-type-options'), 'nosniff', 'error responses keep the security headers');
});

shared('an unknown path with a valid token is 404 not_found in the envelope', async () => {
  const token = await h().token('analyses:read');
  const r = await h().call('GET', '/v1/nothing-here', { token });
  assert.is(r.status, 404);
  const e = errorOf(r);
  assert.is(e.code, 'not_found');
  assert.match(e.message, /GET \/v1\/nothing-here/);
  assert.is(e.requestId, r.headers.get('x-request-id'));
});

shared('a wrong method on a known path is 405 method_not_allowed with Allow', async () => {
  const token = await h().token('analyses:read analyses:write');
  const r = await h().call('DELETE', '/v1/analyses', { token });
  assert.is(r.status, 405);
  assert.is(errorOf(r).code, 'method_not_allowed');
  assert.match(r.headers.get('allow') ?? '', /POST/);
});

shared('the access log has one line per request with method, route, status, ms, requestId and tenant', async () => {
  const token = await h().token('analyses:read', { tenant_id: 'logged-tenant' });
  const r = await h().call('GET', '/v1/analyses/an_00000000000000000000000000000000', { token, headers: { 'x-request-id': 'access-log-check' } });
  assert.is(r.status, 404);
  const isMine = (l: Record<string, unknown>): boolean => l.msg === 'request' && l.requestId === 'access-log-check';
  const line = await h().waitForLog(isMine);
  assert.is(h().logs.filter((l) => isMine(JSON.parse(l) as Record<string, unknown>)).length, 1);
  assert.is(line.method, 'GET');
  assert.is(line.route, '/v1/analyses/:id');
  assert.is(line.status, 404);
  assert.is(line.tenant, 'logged-tenant');
  assert.is(line.code, 'not_found');
  assert.type(line.ms, 'number');
});

health.run();
shared.run();
