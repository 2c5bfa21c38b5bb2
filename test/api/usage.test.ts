/**
 * GET /v1/usage: the tenant's AI usage and cost per model per UTC day, read from the counters the AI coordinator
 * writes (written here through the coordinator's own UsageLedger.record).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageLedger, utcDay } from '../../services/ai/usage-ledger.ts';
import type { ModelCallRecord } from '../../services/analyses/types.ts';
import { RequestValidators } from '../../services/api/openapi.ts';
import type { UsageReport } from '../../services/api/operations/read-usage.ts';
import { dataOf, errorOf, startApiHarness, type ApiHarness, type ApiResponse } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-usage');
const reader = await h.token('analyses:read');
const usageSchema = new RequestValidators(h.api.document).schema('/components/schemas/UsageEnvelope');
const ledger = new UsageLedger(h.redis, h.config.REDIS_KEY_PREFIX);

function call(model: string, promptTokens: number, completionTokens: number, costUsd: number, cached = false): ModelCallRecord {
  return { task: 'vision', modelName: model, model: `${model}-wire`, promptTokens, completionTokens, costUsd, durationMs: 10, cached };
}

await ledger.record('acme', 'an_1', '2025-03-01', call('llama-vision', 1000, 200, 0.0012), 0);
await ledger.record('acme', 'an_1', '2025-03-01', call('llama-vision', 500, 100, 0.0006), 0);
await ledger.record('acme', 'an_1', '2025-03-01', call('deepseek-r1', 2000, 800, 0.01), 0);
await ledger.record('acme', 'an_2', '2025-03-03', call('llama-vision', 0, 0, 0, true), 0);
await ledger.record('acme', 'an_3', '2025-03-03', call('deepseek-r1', 100, 50, 0.0005), 0);
await ledger.record('globex', 'an_9', '2025-03-01', call('llama-vision', 9999, 9999, 9.99), 0);
await ledger.record('acme', 'an_4', utcDay(), call('llama-vision', 10, 10, 0.00001), 0);

async function usage(query: string, token = reader): Promise<UsageReport> {
  const r = await h.call('GET', `/v1/usage${query}`, { token });
  assert.is(r.status, 200, r.text.slice(0, 300));
  assert.ok(usageSchema(r.body), JSON.stringify(usageSchema.errors));
  return dataOf<UsageReport>(r);
}

function problemAt(r: ApiResponse, where: string): string {
  assert.is(r.status, 400, r.text.slice(0, 300));
  const p = errorOf(r).details?.problems?.find((x) => x.where === where);
  if (!p) throw new Error(`no problem at ${where}: ${r.text}`);
  return p.message;
}

const read = suite('GET /v1/usage');

read('every day of the range, per model, with totals in USD', async () => {
  const u = await usage('?from=2025-03-01&to=2025-03-03');
  assert.equal([u.from, u.to, u.currency], ['2025-03-01', '2025-03-03', 'USD']);
  assert.equal(u.days.map((d) => d.day), ['2025-03-01', '2025-03-02', '2025-03-03']);
  const first = u.days[0]!;
  assert.equal(first.models, [
    { model: 'deepseek-r1', promptTokens: 2000, completionTokens: 800, costUsd: 0.01, calls: 1, cachedCalls: 0 },
    { model: 'llama-vision', promptTokens: 1500, completionTokens: 300, costUsd: 0.0018, calls: 2, cachedCalls: 0 },
  ]);
  assert.is(first.costUsd, 0.0118);
  assert.equal(u.days[1], { day: '2025-03-02', models: [], costUsd: 0 });
  assert.equal(u.days[2]?.models.find((m) => m.model === 'llama-vision'), { model: 'llama-vision', promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 1, cachedCalls: 1 });
  assert.equal(u.totals.models, [
    { model: 'deepseek-r1', promptTokens: 2100, completionTokens: 850, costUsd: 0.0105, calls: 2, cachedCalls: 0 },
    { model: 'llama-vision', promptTokens: 1500, completionTokens: 300, costUsd: 0.0018, calls: 3, cachedCalls: 1 },
  ]);
  assert.is(u.totals.costUsd, 0.0123);
});

read("another tenant's usage is never included", async () => {
  const u = await usage('?from=2025-03-01&to=2025-03-01', await h.token('analyses:read', { tenant_id: 'globex' }));
  assert.is(u.totals.costUsd, 9.99);
  const acme = await usage('?from=2025-03-01&to=2025-03-01');
  assert.ok(acme.totals.costUsd < 1);
});

read('the default range is the 30 days ending today (UTC)', async () => {
  const u = await usage('');
  assert.is(u.days.length, 30);
  assert.is(u.to, utcDay());
  assert.is(u.days[29]?.models[0]?.promptTokens, 10);
});

const invalid = suite('invalid ranges');

invalid('a reversed range, a range over 92 days, or a malformed day is 400', async () => {
  assert.match(problemAt(await h.call('GET', '/v1/usage?from=2025-03-03&to=2025-03-01', { token: reader }), 'query.from'), /after to/);
  assert.match(problemAt(await h.call('GET', '/v1/usage?from=2025-01-01&to=2025-04-30', { token: reader }), 'query.from'), /92 days/);
  assert.match(problemAt(await h.call('GET', '/v1/usage?from=2025-02-30', { token: reader }), 'query.from'), /date/);
  assert.match(problemAt(await h.call('GET', '/v1/usage?to=03/01/2025', { token: reader }), 'query.to'), /date/);
});

invalid.after(async () => {
  await h.close();
});

read.run();
invalid.run();
