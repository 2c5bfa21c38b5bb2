/**
 * GET /v1/trends: aggregates over the tenant's succeeded analyses in a window (top topics and hooks, mean virality,
 * count), computed from stored trend reports that validate against schemas/trend-report.schema.json.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AnalysisRecord } from '../../services/analyses/types.ts';
import { MAX_TREND_ANALYSES, type TrendsReport } from '../../services/api/operations/aggregate-trends.ts';
import { RequestValidators } from '../../services/api/openapi.ts';
import { seedAnalysis } from './analysis-fixtures.ts';
import { dataOf, errorOf, startApiHarness, type ApiHarness, type ApiResponse } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-trends');
const reader = await h.token('analyses:read');
const trendsSchema = new RequestValidators(h.api.document).schema('/components/schemas/TrendsEnvelope');
const HOUR = 3_600_000;
const now = Date.now();

async function trends(query: string, token = reader): Promise<TrendsReport> {
  const r = await h.call('GET', `/v1/trends${query}`, { token });
  assert.is(r.status, 200, r.text.slice(0, 300));
  assert.ok(trendsSchema(r.body), JSON.stringify(trendsSchema.errors));
  return dataOf<TrendsReport>(r);
}

function problemAt(r: ApiResponse, where: string): string {
  assert.is(r.status, 400, r.text.slice(0, 300));
  const p = errorOf(r).details?.problems?.find((x) => x.where === where);
  if (!p) throw new Error(`no problem at ${where}: ${r.text}`);
  return p.message;
}

// acme, last 7 days: three succeeded analyses, plus ones that must not count.
await seedAnalysis(h.store, h.redis, {
  status: 'succeeded',
  createdAtMs: now - 2 * HOUR,
  report: { virality: 90, topics: [['Street Food', 0.9], ['street food!', 0.7], ['Night Market', 0.8]], hooks: [['Sizzling pan close-up', 0.5], ['Price on screen', 3]] },
});
await seedAnalysis(h.store, h.redis, {
  status: 'succeeded',
  createdAtMs: now - 30 * HOUR,
  report: { virality: 60, topics: [['street food', 0.6], ['Cooking', 0.9]], hooks: [['sizzling pan close up', 1.5]] },
});
await seedAnalysis(h.store, h.redis, {
  status: 'succeeded',
  createdAtMs: now - 5 * 24 * HOUR,
  report: { virality: 30, topics: [['Cooking', 0.5]], hooks: [] },
});
await seedAnalysis(h.store, h.redis, { status: 'failed', createdAtMs: now - 3 * HOUR });
await seedAnalysis(h.store, h.redis, { status: 'running', createdAtMs: now - 3 * HOUR });
await seedAnalysis(h.store, h.redis, { status: 'succeeded', createdAtMs: now - 10 * 24 * HOUR, report: { virality: 100, topics: [['Old News', 1]] } });
await seedAnalysis(h.store, h.redis, { tenantId: 'globex', status: 'succeeded', createdAtMs: now - HOUR, report: { virality: 5, topics: [['Street Food', 1]] } });

const agg = suite('aggregates');

agg('the default 7d window counts the succeeded analyses in it, with their mean virality score', async () => {
  const t = await trends('');
  assert.is(t.window, '7d');
  assert.is(t.analyses, 3);
  assert.is(t.averageViralityScore, 60); // (90 + 60 + 30) / 3
  assert.is(t.sampled, false);
  const span = Date.parse(t.to) - Date.parse(t.from);
  assert.is(span, 7 * 24 * HOUR);
});

agg('topics group case- and punctuation-insensitively, count once per analysis, rank by analyses then virality', async () => {
  const t = await trends('');
  assert.equal(t.topTopics.map((x) => [x.label, x.analyses]), [['Street Food', 2], ['Cooking', 2], ['Night Market', 1]]);
  const street = t.topTopics[0]!;
  assert.is(street.averageViralityScore, 75); // (90 + 60) / 2: ahead of Cooking's (60 + 30) / 2
  assert.is(street.averageConfidence, 0.75); // first mention per analysis: 0.9 and 0.6
  assert.is(t.topTopics[1]?.averageViralityScore, 45);
});

agg('hooks group the same way, with their mean position in the video', async () => {
  const t = await trends('');
  assert.equal(t.topHooks.map((x) => [x.description, x.analyses, x.averageTimestampSec]), [['Sizzling pan close-up', 2, 1], ['Price on screen', 1, 3]]);
});

agg('a shorter window leaves older analyses out; top limits the lists', async () => {
  const t = await trends('?window=24h&top=1');
  assert.is(t.analyses, 1);
  assert.is(t.averageViralityScore, 90);
  // Both topics of that one analysis tie on analyses and virality: the label decides.
  assert.equal(t.topTopics.map((x) => x.label), ['Night Market']);
  assert.is(t.topHooks.length, 1);
});

agg('another tenant sees only its own; a tenant without analyses gets zero and null', async () => {
  const globex = await trends('', await h.token('analyses:read', { tenant_id: 'globex' }));
  assert.is(globex.analyses, 1);
  assert.is(globex.averageViralityScore, 5);
  const empty = await trends('', await h.token('analyses:read', { tenant_id: 'initech' }));
  assert.equal([empty.analyses, empty.averageViralityScore, empty.topTopics, empty.topHooks], [0, null, [], []]);
});

agg(`more than ${MAX_TREND_ANALYSES} analyses in the window: the newest are read and sampled is true`, async () => {
  const tenantId = 'busy';
  await seedAnalysis(h.store, h.redis, { tenantId, status: 'succeeded', createdAtMs: now - 2 * HOUR, report: { virality: 10, topics: [['Oldest', 1]] } });
  for (let i = 0; i < MAX_TREND_ANALYSES; i++) await seedAnalysis(h.store, h.redis, { tenantId, createdAtMs: now - HOUR + i });
  const t = await trends('', await h.token('analyses:read', { tenant_id: tenantId }));
  assert.is(t.sampled, true);
  assert.is(t.analyses, 0, 'the oldest, succeeded one is beyond the newest 2000');
});

const invalid = suite('invalid queries');

invalid('window must be <n>h or <n>d up to 90 days; top 1-50', async () => {
  assert.match(problemAt(await h.call('GET', '/v1/trends?window=0d', { token: reader }), 'query.window'), /pattern/);
  assert.match(problemAt(await h.call('GET', '/v1/trends?window=1w', { token: reader }), 'query.window'), /pattern/);
  assert.match(problemAt(await h.call('GET', '/v1/trends?window=91d', { token: reader }), 'query.window'), /at most 90d/);
  assert.match(problemAt(await h.call('GET', '/v1/trends?window=2161h', { token: reader }), 'query.window'), /at most 90d/);
  assert.match(problemAt(await h.call('GET', '/v1/trends?top=51', { token: reader }), 'query.top'), /<= 50/);
});

invalid('a report without the expected fields is skipped, never a 500', async () => {
  const tenantId = 'odd';
  const r: AnalysisRecord = await seedAnalysis(h.store, h.redis, { tenantId, status: 'succeeded' });
  await h.store.update(r.id, (x) => ({ ...x, result: { ...x.result!, report: { topics: 'not a list', viralityScore: { score: 'high' } } } }));
  const t = await trends('', await h.token('analyses:read', { tenant_id: tenantId }));
  assert.is(t.analyses, 0);
});

invalid.after(async () => {
  await h.close();
});

agg.run();
invalid.run();
