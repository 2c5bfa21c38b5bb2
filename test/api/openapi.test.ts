/**
 * schemas/openapi.yaml and the router describe the same API: every route is an operation with the same
 * operationId, and every operation is a route. The document is served at GET /v1/openapi.json, and real responses
 * match the schemas it promises.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { listOperations, loadOpenApiDocument, RequestValidators, toOpenApiPath } from '../../services/api/openapi.ts';
import { dataOf, startApiHarness, type ApiHarness, type ApiResponse } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-openapi');
const doc = loadOpenApiDocument();
const schemas = new RequestValidators(doc);

const parity = suite('router and OpenAPI document');

parity('every route of the router is an operation of the document, with its name as operationId', () => {
  const ops = listOperations(doc);
  for (const r of h.api.routes) {
    const op = ops.find((o) => o.method === r.method && o.path === toOpenApiPath(r.path));
    assert.ok(op, `${r.method} ${r.path} is missing from schemas/openapi.yaml`);
    assert.is(op.operationId, r.name, `${r.method} ${r.path}`);
  }
});

parity('every operation of the document is a route of the router', () => {
  for (const op of listOperations(doc)) {
    const r = h.api.routes.find((x) => x.method === op.method && toOpenApiPath(x.path) === op.path);
    assert.ok(r, `${op.method} ${op.path} (${op.operationId}) is documented but not routed`);
  }
  assert.is(listOperations(doc).length, h.api.routes.length);
});

parity('operationIds are unique and the document is OpenAPI 3.1', () => {
  const ids = listOperations(doc).map((o) => o.operationId);
  assert.is(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => id.length > 0));
  assert.match(doc.openapi, /^3\.1\./);
});

const served = suite('GET /v1/openapi.json');

served('needs a token and serves the document in the envelope', async () => {
  assert.is((await h.call('GET', '/v1/openapi.json')).status, 401);
  const r = await h.call('GET', '/v1/openapi.json', { token: await h.token('') });
  assert.is(r.status, 200);
  assert.equal(dataOf(r), JSON.parse(JSON.stringify(doc)));
});

const shapes = suite('responses match the documented schemas');

const compiled = new Map<string, ReturnType<RequestValidators['schema']>>();
/** Checks `r` against a component schema, and that it carries its request id. */
function matches(r: ApiResponse, schema: string): void {
  assert.ok(r.headers.get('x-request-id'), 'every response carries X-Request-Id');
  const validate = compiled.get(schema) ?? schemas.schema(`/components/schemas/${schema}`);
  compiled.set(schema, validate);
  assert.ok(validate(r.body), `${schema}: ${JSON.stringify(validate.errors)} for ${r.text.slice(0, 300)}`);
}

shapes('success and error envelopes of every kind', async () => {
  const t = await h.token('analyses:write analyses:read admin');
  matches(await h.call('GET', '/healthz'), 'HealthEnvelope');
  matches(await h.call('GET', '/readyz'), 'ReadinessEnvelope');
  const ticketRes = await h.call('POST', '/v1/uploads', { token: t, body: { contentType: 'video/mp4', bytes: 16 } });
  matches(ticketRes, 'UploadTicketEnvelope');
  const ticket = dataOf<{ uploadUrl: string; videoKey: string; headers: Record<string, string> }>(ticketRes);
  await fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: Buffer.alloc(16) });
  const created = await h.call('POST', '/v1/analyses', { token: t, body: { videoKey: ticket.videoKey } });
  assert.is(created.status, 202);
  matches(created, 'AnalysisEnvelope');
  matches(await h.call('GET', `/v1/analyses/${dataOf<{ id: string }>(created).id}`, { token: t }), 'AnalysisEnvelope');
  matches(await h.call('GET', '/v1/analyses?limit=1', { token: t }), 'AnalysisPageEnvelope');
  matches(await h.call('GET', '/v1/trends?window=1d', { token: t }), 'TrendsEnvelope');
  matches(await h.call('GET', '/v1/usage', { token: t }), 'UsageEnvelope');
  const errors = [
    await h.call('GET', '/v1/drift'), // unauthorized
    await h.call('GET', '/v1/drift', { token: 'x.y.z' }), // invalid_token
    await h.call('GET', '/v1/drift', { token: await h.token('') }), // forbidden
    await h.call('GET', '/v1/drift', { token: t }), // no_report
    await h.call('POST', '/v1/analyses', { token: t, body: { extra: 1 } }), // validation_failed
    await h.call('POST', '/v1/analyses', { token: t, body: { videoKey: `uploads/acme/${randomUUID()}` } }), // upload_not_found
    await h.call('POST', '/v1/analyses', { token: t, body: 'x', headers: { 'content-type': 'text/plain' } }), // unsupported_media_type
    await h.call('PUT', '/v1/drift', { token: t }), // method_not_allowed
    await h.call('GET', '/v1/none', { token: t }), // not_found
    await h.call('DELETE', `/v1/analyses/${dataOf<{ id: string }>(created).id}`, { token: t }), // erasure_unavailable (no blob storage here)
    await h.call('GET', '/v1/analyses?limit=0', { token: t }), // validation_failed at query.limit
  ];
  assert.equal(
    errors.map((r) => (r.body as { error: { code: string } }).error.code),
    ['unauthorized', 'invalid_token', 'forbidden', 'no_report', 'validation_failed', 'upload_not_found', 'unsupported_media_type', 'method_not_allowed', 'not_found', 'erasure_unavailable', 'validation_failed'],
  );
  for (const r of errors) {
    matches(r, 'ErrorEnvelope');
    assert.is((r.body as { error: { requestId: string } }).error.requestId, r.headers.get('x-request-id'));
  }
});

const catalogue = suite('error code catalogue');

/** `| \`code\` | status |` rows of a Markdown table. */
function catalogueRows(markdown: string): Array<[string, number]> {
  return [...markdown.matchAll(/^\s*\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] ?? '', Number(m[2])]);
}

catalogue('docs/api-errors.md, the ErrorCode enum and its description table list the same codes with the same statuses', () => {
  const errorCode = (doc.components?.schemas as Record<string, { enum: string[]; description: string }>).ErrorCode!;
  const docs = catalogueRows(readFileSync(new URL('../../docs/api-errors.md', import.meta.url), 'utf8'));
  const inSchema = catalogueRows(errorCode.description);
  assert.ok(docs.length >= 20, `docs lists ${docs.length} codes`);
  assert.equal(docs.map(([c]) => c).sort(), [...errorCode.enum].sort());
  assert.equal([...docs].sort(), [...inSchema].sort());
});

shapes.after(async () => {
  await h.close();
});

parity.run();
served.run();
shapes.run();
catalogue.run();
