/**
 * Bearer JWT authentication and scopes on every /v1 route: no token, bad tokens of every kind, JWKS key lookup,
 * missing scopes, and that no token ever reaches the logs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT, base64url } from 'jose';
import { createDevIssuer } from '../../devstack/dev-keys.ts';
import { freePort } from '../../devstack/standins/ports.ts';
import { AuthError, TransientError } from '../../services/platform/errors.ts';
import { createJwtVerifier } from '../../services/api/auth/jwt-verifier.ts';
import { OPEN_PATHS } from '../../services/api/middleware/auth.ts';
import { listOperations, toOpenApiPath } from '../../services/api/openapi.ts';
import type { RouteInfo } from '../../services/api/app.ts';
import { errorOf, startApiHarness, type ApiHarness } from './api-harness.ts';
import { serveJwks } from './jwks-server.ts';

const h: ApiHarness = await startApiHarness('api-auth');
/** Every token minted in this file, to check none of them was logged. */
const minted: string[] = [];
async function token(scope: string, claims: Record<string, unknown> = {}, opts: Parameters<ApiHarness['token']>[2] = {}): Promise<string> {
  const t = await h.token(scope, claims, opts);
  minted.push(t);
  return t;
}

/** A concrete URL for a route path (`:id` → a well-formed id). */
function urlOf(route: RouteInfo): string {
  return route.path.replace(/:id\b/, 'an_0123456789abcdef0123456789abcdef');
}

/** Required scopes of a route, read from the OpenAPI document's security requirement. */
function scopesOf(route: RouteInfo): string[] {
  const op = listOperations(h.api.document).find((o) => o.method === route.method && o.path === toOpenApiPath(route.path));
  const security = (op?.operation.security ?? h.api.document.security) as Array<Record<string, string[]>>;
  return security.flatMap((req) => req.bearerAuth ?? []);
}

const protectedRoutes = h.api.routes.filter((r) => !OPEN_PATHS.has(r.path));

const noToken = suite('every /v1 route without a valid token');

noToken('only /healthz and /readyz are open; every other route is under /v1', () => {
  assert.equal(h.api.routes.filter((r) => OPEN_PATHS.has(r.path)).map((r) => r.path).sort(), ['/healthz', '/readyz']);
  for (const r of protectedRoutes) assert.ok(r.path.startsWith('/v1/'), `${r.method} ${r.path} is outside /v1`);
  assert.ok(protectedRoutes.length >= 5, `expected the /v1 routes, got ${protectedRoutes.length}`);
});

noToken('every protected route answers 401 unauthorized with a Bearer challenge', async () => {
  for (const route of protectedRoutes) {
    const r = await h.call(route.method, urlOf(route), route.method === 'POST' ? { body: {} } : {});
    const where = `${route.method} ${route.path}`;
    assert.is(r.status, 401, where);
    const e = errorOf(r);
    assert.is(e.code, 'unauthorized', where);
    assert.is(e.requestId, r.headers.get('x-request-id'), where);
    assert.is(r.headers.get('www-authenticate'), 'Bearer realm="content-trends"', where);
  }
});

noToken('an unknown /v1 path answers 401 before 404, so routes cannot be mapped anonymously', async () => {
  const r = await h.call('GET', '/v1/secret-admin-thing');
  assert.is(r.status, 401);
});

noToken('an upper-case spelling of a route is not a way around authentication', async () => {
  const r = await h.call('GET', '/V1/openapi.json');
  assert.is(r.status, 401);
  const ok = await h.call('GET', '/V1/openapi.json', { token: await token('') });
  assert.is(ok.status, 404, 'routing is case-sensitive');
});

noToken('a non-Bearer Authorization header is 401 unauthorized', async () => {
  const r = await h.call('GET', '/v1/openapi.json', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assert.is(r.status, 401);
  assert.is(errorOf(r).code, 'unauthorized');
});

const badTokens = suite('bad tokens are 401 invalid_token');

async function expectInvalid(t: string, message: RegExp): Promise<void> {
  minted.push(t);
  const r = await h.call('GET', '/v1/openapi.json', { token: t });
  assert.is(r.status, 401, `${message}: got ${r.status} ${r.text.slice(0, 200)}`);
  const e = errorOf(r);
  assert.is(e.code, 'invalid_token');
  assert.match(e.message, message);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="content-trends", error="invalid_token", error_description="[^"]+"$/);
}

badTokens('a valid token is accepted (control)', async () => {
  const r = await h.call('GET', '/v1/openapi.json', { token: await token('') });
  assert.is(r.status, 200);
});

badTokens('expired', async () => {
  await expectInvalid(await token('', {}, { expiresIn: '-1h' }), /expired/);
});

badTokens('not valid yet (nbf in an hour)', async () => {
  await expectInvalid(await token('', {}, { notBeforeInSec: 3600 }), /not valid yet/);
});

badTokens('wrong audience', async () => {
  await expectInvalid(await token('', {}, { audience: 'some-other-api' }), /audience/);
});

badTokens('wrong issuer', async () => {
  await expectInvalid(await token('', {}, { issuer: 'https://evil.example/' }), /issuer/);
});

badTokens('alg none (unsigned)', async () => {
  const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const now = Math.floor(Date.now() / 1000);
  const payload = base64url.encode(JSON.stringify({ sub: 'x', tenant_id: 'acme', scope: 'admin', iss: h.issuer.issuer, aud: h.issuer.audience, exp: now + 600 }));
  await expectInvalid(`${header}.${payload}.`, /malformed|algorithm/);
});

badTokens('HS256 signed with the public key bytes (key confusion)', async () => {
  const forged = await new SignJWT({ tenant_id: 'acme', scope: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('x')
    .setIssuer(h.issuer.issuer)
    .setAudience(h.issuer.audience)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(h.issuer.publicKeyPem));
  await expectInvalid(forged, /algorithm is not accepted/);
});

badTokens('tampered payload (tenant changed, signature kept)', async () => {
  const [head, payload, sig] = (await token('analyses:read')).split('.');
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as Record<string, unknown>;
  const tampered = base64url.encode(JSON.stringify({ ...claims, tenant_id: 'victim' }));
  await expectInvalid(`${head}.${tampered}.${sig}`, /signature/);
});

badTokens('signed by another key', async () => {
  const stranger = await createDevIssuer({ issuer: h.issuer.issuer, audience: h.issuer.audience, kid: h.issuer.kid });
  await expectInvalid(await stranger.mint({ sub: 'x', tenant_id: 'acme', scope: 'admin' }), /signature/);
});

badTokens('no tenant claim', async () => {
  const t = await h.issuer.mint({ sub: 'x', tenant_id: undefined as unknown as string, scope: 'admin' });
  await expectInvalid(t, /tenant_id/);
});

badTokens('a sub or tenant claim that is not a string (or is empty) names the claim, not a missing one', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ tenant_id: 42 }, 'the token claim tenant_id must be a string (got number)'],
    [{ tenant_id: null, tid: 'entra-tenant' }, 'the token claim tenant_id must be a string (got null)'],
    [{ tenant_id: undefined, tid: ['a'] }, 'the token claim tid must be a string (got array)'],
    [{ sub: 7 }, 'the token claim sub must be a string (got number)'],
    [{ sub: '' }, 'the token claim sub is empty'],
  ];
  for (const [claims, message] of cases) {
    const r = await h.call('GET', '/v1/openapi.json', { token: await token('', claims) });
    assert.is(r.status, 401, message);
    assert.is(errorOf(r).code, 'invalid_token');
    assert.is(errorOf(r).message, message);
  }
});

badTokens('a tenant id that is unsafe in storage keys', async () => {
  await expectInvalid(await token('', { tenant_id: '../other' }), /tenant_id/);
  for (const tenant_id of ['.', '..', '.hidden']) await expectInvalid(await token('', { tenant_id }), /tenant_id/);
});

badTokens('not a JWT at all', async () => {
  await expectInvalid('abc.def', /malformed/);
});

const claims = suite('claim conventions');

claims('tid and an scp array are read like tenant_id and scope', async () => {
  const t = await h.issuer.mint({ sub: 'x', tenant_id: undefined as unknown as string, tid: 'entra-tenant', scope: undefined as unknown as string, scp: ['admin'] });
  minted.push(t);
  const r = await h.call('GET', '/v1/drift', { token: t });
  assert.is(r.status, 404, 'admin scope granted through scp: the route runs (no report yet)');
  assert.is(errorOf(r).code, 'no_report');
});

const scopes = suite('scopes');

scopes('every route with a scope in the OpenAPI document answers 403 without it, and runs with it', async () => {
  const scoped = protectedRoutes.filter((r) => scopesOf(r).length > 0);
  assert.ok(scoped.length >= 4, 'the document lists scopes for the analysis, upload and drift routes');
  const noScopes = await token('');
  for (const route of scoped) {
    const needed = scopesOf(route);
    const where = `${route.method} ${route.path}`;
    const denied = await h.call(route.method, urlOf(route), { token: noScopes, ...(route.method === 'POST' ? { body: {} } : {}) });
    assert.is(denied.status, 403, where);
    assert.is(errorOf(denied).code, 'forbidden', where);
    assert.is(denied.headers.get('www-authenticate'), `Bearer realm="content-trends", error="insufficient_scope", scope="${needed[0]}"`, where);
    const allowed = await h.call(route.method, urlOf(route), { token: await token(needed.join(' ')), ...(route.method === 'POST' ? { body: {} } : {}) });
    assert.ok(![401, 403].includes(allowed.status), `${where} with ${needed.join(' ')}: ${allowed.status}`);
  }
});

scopes('a read scope does not grant write', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: await token('analyses:read'), body: {} });
  assert.is(r.status, 403);
});

const jwks = suite('keys from a JWKS URL');

jwks('a token whose kid is in the JWKS is accepted; an unknown kid is 401', async () => {
  const issuer = await createDevIssuer();
  const server = await serveJwks([issuer.publicJwk]);
  const hj = await startApiHarness('api-auth-jwks', { issuer, env: { AUTH_JWKS_URL: server.url } });
  try {
    const good = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: '' });
    assert.is((await hj.call('GET', '/v1/openapi.json', { token: good })).status, 200);
    assert.is(server.fetches(), 1);
    const stranger = await createDevIssuer({ issuer: issuer.issuer, audience: issuer.audience, kid: 'not-in-the-jwks' });
    const r = await hj.call('GET', '/v1/openapi.json', { token: await stranger.mint({ sub: 'u', tenant_id: 'acme', scope: '' }) });
    assert.is(r.status, 401);
    assert.is(errorOf(r).code, 'invalid_token');
    assert.match(errorOf(r).message, /no key/);
  } finally {
    await hj.close();
    await server.close();
  }
});

jwks('an unreachable JWKS is TransientError service_unavailable (503), not a rejected token', async () => {
  const issuer = await createDevIssuer();
  const verify = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, algorithms: ['ES256'], jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json` });
  const t = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: '' });
  try {
    await verify(t);
    assert.unreachable('verification must fail');
  } catch (err) {
    assert.instance(err, TransientError);
    assert.is((err as TransientError).status, 503);
    assert.is((err as TransientError).code, 'service_unavailable');
    assert.not.instance(err, AuthError);
  }
});

jwks('createJwtVerifier refuses both or neither key source', () => {
  const base = { issuer: 'i', audience: 'a', algorithms: ['ES256'] as const };
  assert.throws(() => createJwtVerifier({ ...base, algorithms: [...base.algorithms] }), /exactly one/);
  assert.throws(() => createJwtVerifier({ ...base, algorithms: [...base.algorithms], jwksUrl: 'http://x/j', publicKeyPem: h.issuer.publicKeyPem }), /exactly one/);
});

const logs = suite('logs');

logs('no token, signature or Authorization header appears in any log line', async () => {
  await h.waitForLog((l) => l.msg === 'request' && l.status === 403);
  assert.ok(minted.length > 10, 'the file minted tokens');
  assert.ok(h.logs.length > 20, 'the app logged requests');
  const all = h.logs.join('\n');
  for (const t of minted) {
    const sig = t.split('.')[2];
    assert.not.ok(all.includes(t), 'a whole token was logged');
    if (sig) assert.not.ok(all.includes(sig), 'a token signature was logged');
  }
  assert.not.match(all, /"authorization"\s*:/i, 'no Authorization header field');
  assert.not.match(all, /Bearer ey/, 'no bearer credential');
});

logs.after(async () => {
  await h.close();
});

noToken.run();
badTokens.run();
claims.run();
scopes.run();
jwks.run();
logs.run();
