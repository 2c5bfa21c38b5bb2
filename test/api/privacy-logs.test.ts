/**
 * Logs are free of tokens and personal data, and every line carries its request id: a session of a user whose
 * token names them (sub, name and email claims), behind a trusted proxy that forwards their IP address, sending
 * personal data in an Idempotency-Key, a query and a rejected body. The logs must show none of it, and must show the
 * anonymised network and the request id of every response.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { startApiHarness, type ApiHarness, type ApiResponse } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-privacy', { env: { API_TRUSTED_PROXIES: '127.0.0.1, ::1' } });

const EMAIL = 'jane.doe@example.com';
const NAME = 'Jane Q. Doe';
const CLIENT_IP = '203.0.113.77';
const IDEMPOTENCY_KEY = `retry-for-${EMAIL}`;

const privacy = suite('logs');

privacy('carry no token, claim, address or personal value, and a request id on every line', async () => {
  const token = await h.token('analyses:read analyses:write', { sub: EMAIL, name: NAME, email: EMAIL });
  const headers = { 'x-forwarded-for': CLIENT_IP };
  const responses: ApiResponse[] = [];
  const ticketRes = await h.call('POST', '/v1/uploads', { token, headers, body: { contentType: 'video/mp4', bytes: 64 } });
  responses.push(ticketRes);
  const ticket = (ticketRes.body as { data: { uploadUrl: string; videoKey: string; headers: Record<string, string> } }).data;
  await fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: randomBytes(64) });
  const created = await h.call('POST', '/v1/analyses', { token, headers: { ...headers, 'idempotency-key': IDEMPOTENCY_KEY }, body: { videoKey: ticket.videoKey } });
  assert.is(created.status, 202);
  responses.push(created);
  const id = (created.body as { data: { id: string } }).data.id;
  responses.push(await h.call('GET', `/v1/analyses/${id}`, { token, headers }));
  responses.push(await h.call('GET', `/v1/analyses?status=queued&createdAfter=2020-01-01T00:00:00Z`, { token, headers }));
  responses.push(await h.call('GET', `/v1/analyses?cursor=${Buffer.from(EMAIL).toString('base64url')}`, { token, headers }));
  responses.push(await h.call('POST', '/v1/analyses', { token, headers, body: { videoKey: EMAIL, note: NAME } }));
  responses.push(await h.call('GET', '/v1/trends', { token, headers }));
  responses.push(await h.call('GET', '/v1/usage', { token, headers }));
  responses.push(await h.call('GET', '/v1/analyses', { token: `${token}x`, headers }));
  responses.push(await h.call('GET', '/v1/analyses', { headers: { ...headers, authorization: `Basic ${Buffer.from(`${EMAIL}:pw`).toString('base64')}` } }));
  responses.push(await h.call('GET', '/healthz', { headers }));
  assert.equal(responses.map((r) => r.status), [200, 202, 200, 200, 400, 400, 200, 200, 401, 401, 200]);

  // Every response's request id has its access-log line, with the anonymised network only.
  for (const r of responses) {
    const rid = r.headers.get('x-request-id');
    assert.ok(rid);
    const line = await h.waitForLog((l) => l.msg === 'request' && l.requestId === rid);
    assert.is(line.clientNet, '203.0.113.0/24');
  }
  const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.length >= responses.length);
  for (const l of lines) assert.type(l.requestId, 'string', `a line without requestId: ${JSON.stringify(l)}`);

  const all = h.logs.join('\n');
  const signature = token.split('.')[2] ?? 'none';
  for (const [what, secret] of [
    ['the token', token],
    ['its signature', signature],
    ['the email (sub, email claim, body)', EMAIL],
    ['the name claim', NAME],
    ['the client IP address', CLIENT_IP],
    ['the Idempotency-Key', IDEMPOTENCY_KEY],
    ['the encoded cursor', Buffer.from(EMAIL).toString('base64url')],
  ] as const) {
    assert.not.ok(all.includes(secret), `${what} appears in the logs`);
  }
  assert.not.match(all, /"authorization"|Bearer ey|Basic [A-Za-z0-9+/=]{8,}/i, 'no Authorization header or credential');
});

privacy.after(async () => {
  await h.close();
});

privacy.run();
