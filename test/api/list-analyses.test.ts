/**
 * GET /v1/analyses: newest-first cursor pagination over the tenant index, filters by status and creation time,
 * strict cursor validation, tenant isolation, the per-request scan budget, and retention (TTL from
 * RESULT_RETENTION_DAYS; expired records leave the index).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { indexMember } from '../../services/analyses/store.ts';
import type { AnalysisRecord } from '../../services/analyses/types.ts';
import { MAX_SCANNED } from '../../services/api/operations/list-analyses.ts';
import { RequestValidators } from '../../services/api/openapi.ts';
import { newestFirst, seedAnalysis } from './analysis-fixtures.ts';
import { dataOf, errorOf, startApiHarness, type ApiHarness, type ApiResponse } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-list', { env: { RESULT_RETENTION_DAYS: '3' } });
const reader = await h.token('analyses:read');
const pageSchema = new RequestValidators(h.api.document).schema('/components/schemas/AnalysisPageEnvelope');

interface Page {
  items: Array<Omit<AnalysisRecord, 'result'> & { result?: unknown }>;
  nextCursor: string | null;
}

async function list(query: string, token = reader): Promise<ApiResponse> {
  return h.call('GET', `/v1/analyses${query}`, { token });
}

function pageOf(r: ApiResponse): Page {
  assert.is(r.status, 200, r.text.slice(0, 300));
  assert.ok(pageSchema(r.body), JSON.stringify(pageSchema.errors));
  return dataOf<Page>(r);
}

/** Follows nextCursor from `query` to the end; returns every page. */
async function allPages(query: string, token = reader): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const sep = query.includes('?') ? '&' : '?';
    const page = pageOf(await list(cursor ? `${query}${sep}cursor=${cursor}` : query, token));
    pages.push(page);
    cursor = page.nextCursor;
    assert.ok(pages.length < 100, 'paging terminates');
  } while (cursor);
  return pages;
}

function problemAt(r: ApiResponse, where: string): string {
  assert.is(r.status, 400, r.text.slice(0, 300));
  const p = errorOf(r).details?.problems?.find((x) => x.where === where);
  if (!p) throw new Error(`no problem at ${where}: ${r.text}`);
  return p.message;
}

// Fixture: 12 analyses of acme one second apart (statuses cycling), 3 of globex interleaved.
const t0 = Date.now() - 3_600_000;
const acme: AnalysisRecord[] = [];
const statuses = ['queued', 'running', 'succeeded', 'failed'] as const;
for (let i = 0; i < 12; i++) {
  acme.push(await seedAnalysis(h.store, h.redis, { status: statuses[i % 4], createdAtMs: t0 + i * 1000 }));
  if (i % 4 === 0) await seedAnalysis(h.store, h.redis, { tenantId: 'globex', createdAtMs: t0 + i * 1000 + 500 });
}
// Two created in the same millisecond: the id breaks the tie, nothing is skipped or repeated.
acme.push(await seedAnalysis(h.store, h.redis, { createdAtMs: t0 + 20_000 }), await seedAnalysis(h.store, h.redis, { createdAtMs: t0 + 20_000 }));
const expected = newestFirst(acme);

const paging = suite('paging');

paging('pages of 5 walk every analysis of the tenant exactly once, newest first, then nextCursor is null', async () => {
  const pages = await allPages('?limit=5');
  assert.equal(pages.map((p) => p.items.length), [5, 5, 4]);
  assert.is(pages[2]?.nextCursor, null);
  assert.equal(pages.flatMap((p) => p.items.map((i) => i.id)), expected.map((r) => r.id));
});

paging('items leave out result but keep status, progress and times', async () => {
  const page = pageOf(await list('?limit=100'));
  const succeeded = page.items.find((i) => i.status === 'succeeded');
  assert.ok(succeeded);
  assert.is(succeeded.result, undefined);
  assert.is(succeeded.progress.percent, 100);
  const full = dataOf<AnalysisRecord>(await h.call('GET', `/v1/analyses/${succeeded.id}`, { token: reader }));
  assert.ok(full.result, 'GET by id still returns the result');
});

paging('the default page size is 20 and a full listing fits in one page with nextCursor null', async () => {
  const page = pageOf(await list(''));
  assert.is(page.items.length, expected.length);
  assert.is(page.nextCursor, null);
});

paging("a tenant sees only its own analyses; another tenant's cursor position yields only the caller's data", async () => {
  const globex = await h.token('analyses:read', { tenant_id: 'globex' });
  const theirs = pageOf(await list('', globex));
  assert.is(theirs.items.length, 3);
  assert.ok(theirs.items.every((i) => i.tenantId === 'globex'));
  const acmeCursor = pageOf(await list('?limit=2')).nextCursor;
  assert.ok(acmeCursor);
  const replayed = pageOf(await list(`?limit=2&cursor=${acmeCursor}`, globex));
  assert.ok(replayed.items.every((i) => i.tenantId === 'globex'));
});

const filters = suite('filters');

filters('status keeps only analyses in that status, across pages', async () => {
  for (const status of statuses) {
    const got = (await allPages(`?status=${status}&limit=2`)).flatMap((p) => p.items);
    const want = expected.filter((r) => r.status === status);
    assert.equal(got.map((i) => i.id), want.map((r) => r.id), status);
    assert.ok(got.every((i) => i.status === status));
  }
});

filters('createdAfter and createdBefore are strict bounds at millisecond precision', async () => {
  const after = new Date(t0 + 3000).toISOString();
  const before = new Date(t0 + 9000).toISOString();
  const got = (await allPages(`?createdAfter=${after}&createdBefore=${before}&limit=2`)).flatMap((p) => p.items);
  const want = expected.filter((r) => Date.parse(r.createdAt) > t0 + 3000 && Date.parse(r.createdAt) < t0 + 9000);
  assert.is(want.length, 5);
  assert.equal(got.map((i) => i.id), want.map((r) => r.id));
});

filters('filters combine', async () => {
  const got = pageOf(await list(`?status=queued&createdBefore=${new Date(t0 + 8500).toISOString()}`)).items;
  assert.equal(got.map((i) => i.id), expected.filter((r) => r.status === 'queued' && Date.parse(r.createdAt) < t0 + 8500).map((r) => r.id));
});

filters('an empty time range is 400 at query.createdAfter', async () => {
  const at = new Date(t0).toISOString();
  assert.match(problemAt(await list(`?createdAfter=${at}&createdBefore=${at}`), 'query.createdAfter'), /earlier than createdBefore/);
});

const invalid = suite('invalid queries');

invalid('limit outside 1-100 or not a number: 400 at query.limit', async () => {
  assert.match(problemAt(await list('?limit=0'), 'query.limit'), />= 1/);
  assert.match(problemAt(await list('?limit=101'), 'query.limit'), /<= 100/);
  assert.match(problemAt(await list('?limit=ten'), 'query.limit'), /integer/);
});

invalid('a parameter given twice: 400 at query.limit (or query.status), given more than once, and nothing else', async () => {
  const cases: Array<[string, string]> = [['?limit=5&limit=6', 'query.limit'], ['?limit=5&limit=5', 'query.limit'], ['?status=queued&status=failed', 'query.status']];
  for (const [query, where] of cases) {
    const r = await list(query);
    assert.is(r.status, 400, query);
    const e = errorOf(r);
    assert.is(e.code, 'validation_failed', query);
    assert.equal(e.details?.problems, [{ where, message: 'is given more than once' }], query);
  }
  assert.is(problemAt(await list('?sort=a&sort=b'), 'query.sort'), 'is not an allowed field', 'an unknown parameter stays unknown');
});

invalid('a document declaring an array query parameter is refused at start-up (a repeat is always an error)', () => {
  const doc = structuredClone(h.api.document);
  const limit = doc.components?.parameters?.Limit as { schema: Record<string, unknown> };
  limit.schema = { type: 'array', items: { type: 'integer' } };
  assert.throws(() => new RequestValidators(doc).validator('listAnalyses'), /listAnalyses query parameter limit is an array; repeated query parameters are not supported/);
});

invalid('an unknown status, a bad time, an unknown parameter', async () => {
  assert.match(problemAt(await list('?status=done'), 'query.status'), /one of: queued, running, succeeded, failed/);
  assert.match(problemAt(await list('?createdAfter=yesterday'), 'query.createdAfter'), /date-time/);
  assert.is(problemAt(await list('?sort=asc'), 'query.sort'), 'is not an allowed field');
});

invalid('a cursor that was not issued by the API is 400 at query.cursor', async () => {
  const good = pageOf(await list('?limit=2')).nextCursor ?? '';
  const decoded = JSON.parse(Buffer.from(good, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const bad = [
    'not-a-cursor',
    forged({ ...decoded, p: 'an_x' }),
    forged({ ...decoded, v: 2 }),
    forged({ ...decoded, extra: 1 }),
    forged([decoded.p]),
    Buffer.from('{"v":1,').toString('base64url'),
  ];
  for (const cursor of bad) assert.match(problemAt(await list(`?cursor=${cursor}`), 'query.cursor'), /not a cursor returned by this API/, cursor);
  assert.match(problemAt(await list(`?cursor=${'A'.repeat(300)}`), 'query.cursor'), /256/);
});

invalid('a cursor replayed with other filters is 400, never a page of another listing', async () => {
  const cursor = pageOf(await list('?status=queued&limit=1')).nextCursor;
  assert.ok(cursor);
  assert.match(problemAt(await list(`?status=failed&limit=1&cursor=${cursor}`), 'query.cursor'), /other filters/);
  assert.match(problemAt(await list(`?limit=1&cursor=${cursor}`), 'query.cursor'), /other filters/);
  pageOf(await list(`?status=queued&limit=5&cursor=${cursor}`));
});

const budget = suite('scan budget and retention');

budget(`a status filter examines at most ${MAX_SCANNED} analyses per request: an empty page can still have a next`, async () => {
  const tenantId = 'bulk';
  const old = await seedAnalysis(h.store, h.redis, { tenantId, status: 'succeeded', createdAtMs: t0 - 60_000 });
  for (let i = 0; i < MAX_SCANNED + 5; i++) await seedAnalysis(h.store, h.redis, { tenantId });
  const token = await h.token('analyses:read', { tenant_id: tenantId });
  const first = pageOf(await list('?status=succeeded&limit=10', token));
  assert.is(first.items.length, 0);
  assert.ok(first.nextCursor, 'the scan stopped at its budget, not at the end');
  const second = pageOf(await list(`?status=succeeded&limit=10&cursor=${first.nextCursor}`, token));
  assert.equal(second.items.map((i) => i.id), [old.id]);
  assert.is(second.nextCursor, null);
});

budget('records expire RESULT_RETENTION_DAYS after their last write; the index outlives them by a day', async () => {
  const r = await seedAnalysis(h.store, h.redis, { tenantId: 'ttl' });
  const day = 86_400;
  const recordTtl = await h.redis.ttl(`${h.config.REDIS_KEY_PREFIX}:analysis:${r.id}`);
  assert.ok(recordTtl > 3 * day - 60 && recordTtl <= 3 * day, `record TTL ${recordTtl}`);
  const indexTtl = await h.redis.ttl(h.store.tenantIndexKey('ttl'));
  assert.ok(indexTtl > 4 * day - 60 && indexTtl <= 4 * day, `index TTL ${indexTtl}`);
  await h.redis.expire(`${h.config.REDIS_KEY_PREFIX}:analysis:${r.id}`, 10);
  await h.store.markRunning(r.id);
  const refreshed = await h.redis.ttl(`${h.config.REDIS_KEY_PREFIX}:analysis:${r.id}`);
  assert.ok(refreshed > 3 * day - 60, 'a write restarts the retention period');
});

budget('an expired record is left out of the listing and dropped from the index', async () => {
  const tenantId = 'expiry';
  const kept = await seedAnalysis(h.store, h.redis, { tenantId });
  const gone = await seedAnalysis(h.store, h.redis, { tenantId });
  await h.redis.del(`${h.config.REDIS_KEY_PREFIX}:analysis:${gone.id}`); // as Redis does when the TTL runs out
  const token = await h.token('analyses:read', { tenant_id: tenantId });
  const page = pageOf(await list('', token));
  assert.equal(page.items.map((i) => i.id), [kept.id]);
  const member = indexMember(Date.parse(gone.createdAt), gone.id);
  assert.is(await h.redis.zscore(h.store.tenantIndexKey(tenantId), member), null);
});

budget.after(async () => {
  await h.close();
});

paging.run();
filters.run();
invalid.run();
budget.run();
