/**
 * POST /v1/analyses and GET /v1/analyses/:id: body validation with field paths, tenant isolation, the upload check,
 * the BullMQ job (id, priority, options), Idempotency-Key (repeated or empty is refused), Content-Encoding, and 503
 * while Redis is down.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { freePort } from '../../devstack/standins/ports.ts';
import { TIER_PRIORITY, type AnalysisRecord } from '../../services/analyses/types.ts';
import type { DevTokenClaims } from '../../devstack/dev-keys.ts';
import { ANALYSIS_JOB_NAME } from '../../services/analyses/queue.ts';
import { dataOf, errorOf, startApiHarness, TEST_BODY_LIMIT_BYTES, TEST_BUCKET, type ApiHarness, type ApiResponse } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-analyses');
const writer = await h.token('analyses:write analyses:read', { tier: 'pro' });

/** Uploads random bytes through the API's presigned URL, as a client would; returns the videoKey. */
async function upload(token = writer, bytes = 4096): Promise<string> {
  const r = await h.call('POST', '/v1/uploads', { token, body: { contentType: 'video/mp4', bytes } });
  const t = dataOf<{ uploadUrl: string; videoKey: string; headers: Record<string, string> }>(r);
  const put = await fetch(t.uploadUrl, { method: 'PUT', headers: t.headers, body: randomBytes(bytes) });
  assert.is(put.status, 200);
  return t.videoKey;
}

/** Jobs of the queue for one analysis video. */
async function jobsFor(videoKey: string): Promise<number> {
  const jobs = await h.queue.getJobs(['prioritized', 'waiting', 'active', 'delayed']);
  return jobs.filter((j) => j.data.videoKey === videoKey).length;
}

/**
 * POST /v1/analyses as the writer over node:http, which sends an array-valued header as one line per value (fetch
 * joins them into one line, so it cannot send a header twice).
 */
function postOverNodeHttp(headers: Record<string, string | string[]>, text: string): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.baseUrl}/v1/analyses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: JSON.parse(body) as unknown, text: body });
      });
    });
    req.end(text);
  });
}

/** Asserts that `r` is a 400 `validation_failed` with exactly `problems`, and that nothing was queued for `videoKey`. */
async function assertRefused(r: { status: number; text: string; body: unknown; headers: Headers }, videoKey: string, problems: Array<{ where: string; message: string }>): Promise<void> {
  assert.is(r.status, 400, r.text);
  const e = errorOf(r);
  assert.is(e.code, 'validation_failed');
  assert.equal(e.details?.problems, problems);
  assert.is(await jobsFor(videoKey), 0, 'nothing was queued');
}

function problemAt(r: { status: number; text: string; body: unknown; headers: Headers }, where: string): string {
  const e = errorOf(r);
  const p = e.details?.problems?.find((x) => x.where === where);
  if (!p) throw new Error(`no problem at ${where}: ${r.text}`);
  return p.message;
}

const body = suite('POST /v1/analyses rejects a bad request with the field that is wrong');

body('missing videoKey: 400 validation_failed at body.videoKey', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: {} });
  assert.is(r.status, 400);
  assert.is(errorOf(r).code, 'validation_failed');
  assert.is(problemAt(r, 'body.videoKey'), 'is required');
});

body('videoKey of the wrong type: body.videoKey must be string', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: 42 } });
  assert.is(r.status, 400);
  assert.is(problemAt(r, 'body.videoKey'), 'must be string');
});

body('nested option of the wrong type: body.options.maxKeyframes', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/acme/${randomUUID()}`, options: { maxKeyframes: 'many' } } });
  assert.is(r.status, 400);
  assert.is(problemAt(r, 'body.options.maxKeyframes'), 'must be integer');
});

body('unknown fields at any depth are rejected', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/acme/${randomUUID()}`, priority: 1, options: { model: 'x' } } });
  assert.is(r.status, 400);
  assert.is(problemAt(r, 'body.priority'), 'is not an allowed field');
  assert.is(problemAt(r, 'body.options.model'), 'is not an allowed field');
});

body('a videoKey that is not an upload key: pattern problem at body.videoKey', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: '../../etc/passwd' } });
  assert.is(r.status, 400);
  assert.match(problemAt(r, 'body.videoKey'), /must match pattern/);
});

body('a body that is not JSON: 415 unsupported_media_type', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: 'videoKey=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.is(r.status, 415);
  assert.is(errorOf(r).code, 'unsupported_media_type');
  assert.match(errorOf(r).message, /application\/json/);
});

body('malformed JSON: 400 invalid_json at body', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: '{"videoKey": ' });
  assert.is(r.status, 400);
  assert.is(errorOf(r).code, 'invalid_json');
  assert.is(problemAt(r, 'body'), 'is not valid JSON');
});

body('a body declaring a charset other than UTF-8: 415 unsupported_media_type in the envelope; UTF-8 spelled either way passes', async () => {
  for (const charset of ['latin1', 'ISO-8859-1', 'utf-16']) {
    const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/acme/${randomUUID()}` }, headers: { 'content-type': `application/json; charset=${charset}` } });
    assert.is(r.status, 415, `${charset}: ${r.text}`);
    const e = errorOf(r);
    assert.is(e.code, 'unsupported_media_type');
    assert.match(e.message, new RegExp(`charset ${charset}`));
    assert.is(e.requestId, r.headers.get('x-request-id'));
  }
  for (const charset of ['utf-8', 'UTF-8', '"utf-8"', 'utf8']) {
    const r = await h.call('POST', '/v1/analyses', { token: writer, body: {}, headers: { 'content-type': `application/json; charset=${charset}` } });
    assert.is(r.status, 400, `${charset}: ${r.text}`);
    assert.is(problemAt(r, 'body.videoKey'), 'is required', 'the body was read and validated');
  }
});

body('a __proto__ or constructor.prototype key anywhere: 400 validation_failed naming it, and no prototype is polluted', async () => {
  const videoKey = `uploads/acme/${randomUUID()}`;
  const cases: Array<[string, string]> = [
    [`{"videoKey":"${videoKey}","__proto__":{"polluted":"yes"}}`, 'body.__proto__'],
    [`{"videoKey":"${videoKey}","options":{"__proto__":{"polluted":"yes"}}}`, 'body.options.__proto__'],
    [`{"videoKey":"${videoKey}","constructor":{"prototype":{"polluted":"yes"}}}`, 'body.constructor'],
  ];
  for (const [text, where] of cases) {
    const r = await h.call('POST', '/v1/analyses', { token: writer, body: text });
    assert.is(r.status, 400, r.text);
    assert.is(errorOf(r).code, 'validation_failed');
    assert.is(problemAt(r, where), 'is not an allowed field');
  }
  // The app runs in this process: a polluted Object.prototype would show here.
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.not.ok(Object.hasOwn(Object.prototype, 'polluted'));
  assert.is(await jobsFor(videoKey), 0, 'nothing was queued');
});

body('a JSON null or scalar body: 400 validation_failed, body must be object (it is valid JSON, not invalid_json)', async () => {
  const cases: Array<[string, string]> = [['null', 'null'], ['42', 'number'], ['"x"', 'string'], ['true', 'boolean']];
  for (const [text, got] of cases) {
    const r = await h.call('POST', '/v1/analyses', { token: writer, body: text });
    assert.is(r.status, 400, text);
    const e = errorOf(r);
    assert.is(e.code, 'validation_failed', text);
    assert.is(e.message, `the request body must be a JSON object (got ${got})`);
    assert.equal(e.details?.problems, [{ where: 'body', message: 'must be object' }]);
  }
});

body('an unknown Content-Encoding: 415 unsupported_media_type naming it, not invalid_json', async () => {
  for (const encoding of ['br2', 'compress', 'GZIP', 'gzip, br']) {
    const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/acme/${randomUUID()}` }, headers: { 'content-encoding': encoding } });
    assert.is(r.status, 415, `${encoding}: ${r.text}`);
    const e = errorOf(r);
    assert.is(e.code, 'unsupported_media_type');
    assert.is(e.message, `the request body's Content-Encoding ${encoding} is not supported (supported: identity, gzip, deflate, br)`);
  }
});

body('every Content-Encoding the API names as supported is decoded', async () => {
  const text = Buffer.from('{}');
  const encoded: Array<[string, Buffer]> = [['identity', text], ['gzip', gzipSync(text)], ['deflate', deflateSync(text)], ['br', brotliCompressSync(text)]];
  for (const [encoding, bytes] of encoded) {
    const r = await h.call('POST', '/v1/analyses', { token: writer, body: bytes, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
    assert.is(r.status, 400, `${encoding}: ${r.text}`);
    assert.is(problemAt(r, 'body.videoKey'), 'is required', `${encoding}: the body was decoded and validated`);
  }
});

body('a JSON array instead of an object: body must be object', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: '[]' });
  assert.is(r.status, 400);
  assert.is(problemAt(r, 'body'), 'must be object');
});

body(`a body over API_BODY_LIMIT_BYTES (${TEST_BODY_LIMIT_BYTES}): 413 body_too_large`, async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: 'x'.repeat(TEST_BODY_LIMIT_BYTES + 10) } });
  assert.is(r.status, 413);
  assert.is(errorOf(r).code, 'body_too_large');
  assert.match(errorOf(r).message, new RegExp(String(TEST_BODY_LIMIT_BYTES)));
});

body('an Idempotency-Key over 128 characters: header.Idempotency-Key', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/acme/${randomUUID()}` }, headers: { 'idempotency-key': 'k'.repeat(129) } });
  assert.is(r.status, 400);
  assert.match(problemAt(r, 'header.Idempotency-Key'), /128/);
});

body('two Idempotency-Key header lines: 400 at header.Idempotency-Key, given more than once (not a pattern error)', async () => {
  const videoKey = await upload();
  const r = await postOverNodeHttp({ 'idempotency-key': ['key-a', 'key-b'] }, JSON.stringify({ videoKey }));
  await assertRefused(r, videoKey, [{ where: 'header.Idempotency-Key', message: 'is given more than once' }]);
});

body('a client that goes away mid-body is logged as 499 (the body is read before routing), not as a 404', async () => {
  const requestId = `abort-${randomUUID()}`;
  await new Promise<void>((resolve) => {
    const req = httpRequest(`${h.baseUrl}/v1/analyses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json', 'content-length': '1000', 'x-request-id': requestId },
    });
    req.on('error', () => resolve());
    req.write('{"videoKey": "uploads/acme/');
    setTimeout(() => req.destroy(), 200);
  });
  const line = await h.waitForLog((l) => l.msg === 'request' && l.requestId === requestId);
  assert.equal([line.status, line.path, line.aborted], [499, '/v1/analyses', true]);
});

body('two Authorization or two Content-Type lines are refused, whichever comes first (Node keeps only the first)', async () => {
  const videoKey = await upload();
  const text = JSON.stringify({ videoKey });
  for (const auth of [[`Bearer ${writer}`, 'Bearer xyz'], ['Bearer xyz', `Bearer ${writer}`]]) {
    const r = await postOverNodeHttp({ authorization: auth }, text);
    assert.is(r.status, 401, r.text);
    assert.equal([errorOf(r).code, errorOf(r).message], ['unauthorized', 'the Authorization header is given more than once; send one bearer token']);
  }
  const r = await postOverNodeHttp({ 'content-type': ['application/json', 'text/plain'] }, text);
  assert.is(r.status, 415, r.text);
  assert.equal([errorOf(r).code, errorOf(r).message], ['unsupported_media_type', 'the Content-Type header is given more than once; send one (application/json)']);
  assert.is(await jobsFor(videoKey), 0, 'nothing was queued');
});

body('an empty Idempotency-Key header: 400 at header.Idempotency-Key, is empty (not treated as absent)', async () => {
  const videoKey = await upload();
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': '' } });
  await assertRefused(r, videoKey, [{ where: 'header.Idempotency-Key', message: 'is empty' }]);
});

body("another tenant's upload key: body.videoKey must start with uploads/acme/", async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/globex/${randomUUID()}` } });
  assert.is(r.status, 400);
  assert.is(problemAt(r, 'body.videoKey'), 'must start with uploads/acme/');
});

body('a key with no uploaded object: 400 upload_not_found', async () => {
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: `uploads/acme/${randomUUID()}` } });
  assert.is(r.status, 400);
  assert.is(errorOf(r).code, 'upload_not_found');
  assert.match(problemAt(r, 'body.videoKey'), /no uploaded object/);
});

const create = suite('POST /v1/analyses');

create('202 with the queued record and Location; the BullMQ job has jobId = analysis id and the tier priority', async () => {
  const videoKey = await upload();
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey, options: { maxKeyframes: 6 } } });
  assert.is(r.status, 202, r.text);
  const rec = dataOf<AnalysisRecord>(r);
  assert.match(rec.id, /^an_[0-9a-f]{32}$/);
  assert.is(r.headers.get('location'), `/v1/analyses/${rec.id}`);
  assert.is(rec.status, 'queued');
  assert.is(rec.tenantId, 'acme');
  assert.is(rec.tier, 'pro');
  assert.equal(rec.options, { maxKeyframes: 6 });

  const job = await h.queue.getJob(rec.id);
  assert.ok(job, 'the job exists under the analysis id');
  assert.is(job.name, ANALYSIS_JOB_NAME);
  assert.is(job.opts.priority, TIER_PRIORITY.pro);
  assert.is(job.opts.attempts, h.config.JOB_ATTEMPTS);
  assert.equal(job.data, { analysisId: rec.id, tenantId: 'acme', videoKey, options: { maxKeyframes: 6 } });
  assert.is(await job.getState(), 'prioritized');
});

create('the priority follows the tier claim; a missing or unknown tier is free', async () => {
  for (const [tier, expected] of [['enterprise', TIER_PRIORITY.enterprise], [undefined, TIER_PRIORITY.free], ['platinum', TIER_PRIORITY.free]] as const) {
    // 'platinum' is deliberately not a Tier: the API must treat what it does not know as free.
    const claims = (tier === undefined ? {} : { tier }) as unknown as Partial<DevTokenClaims>;
    const t = await h.token('analyses:write', claims);
    const r = await h.call('POST', '/v1/analyses', { token: t, body: { videoKey: await upload(t) } });
    assert.is(r.status, 202);
    const job = await h.queue.getJob(dataOf<AnalysisRecord>(r).id);
    assert.is(job?.opts.priority, expected, `tier ${String(tier)}`);
  }
});

create('the same Idempotency-Key returns the same analysis (200) and enqueues one job', async () => {
  const videoKey = await upload();
  const key = `idem-${randomUUID()}`;
  const first = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } });
  const again = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } });
  assert.is(first.status, 202);
  assert.is(again.status, 200);
  assert.is(dataOf<AnalysisRecord>(again).id, dataOf<AnalysisRecord>(first).id);
  assert.is(again.headers.get('location'), `/v1/analyses/${dataOf<AnalysisRecord>(first).id}`);
  assert.is(await jobsFor(videoKey), 1);
});

create('concurrent requests with one Idempotency-Key create one analysis and one job', async () => {
  const videoKey = await upload();
  const key = `race-${randomUUID()}`;
  const rs = await Promise.all(Array.from({ length: 6 }, () => h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } })));
  assert.equal(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 202]);
  assert.is(new Set(rs.map((r) => dataOf<AnalysisRecord>(r).id)).size, 1);
  assert.is(await jobsFor(videoKey), 1);
});

create('the same key with a different body is 409 conflict', async () => {
  const videoKey = await upload();
  const key = `conf-${randomUUID()}`;
  assert.is((await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } })).status, 202);
  const r = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey, options: { maxKeyframes: 3 } }, headers: { 'idempotency-key': key } });
  assert.is(r.status, 409);
  assert.is(errorOf(r).code, 'conflict');
});

create('an Idempotency-Key is scoped to the tenant', async () => {
  const key = `shared-${randomUUID()}`;
  const globex = await h.token('analyses:write', { tenant_id: 'globex' });
  const a = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: await upload() }, headers: { 'idempotency-key': key } });
  const b = await h.call('POST', '/v1/analyses', { token: globex, body: { videoKey: await upload(globex) }, headers: { 'idempotency-key': key } });
  assert.is(a.status, 202);
  assert.is(b.status, 202);
  assert.is.not(dataOf<AnalysisRecord>(a).id, dataOf<AnalysisRecord>(b).id);
});

create('a retry with the same key after the worker deleted the upload replays the analysis (not upload_not_found); another body is still 409', async () => {
  const videoKey = await upload();
  const key = `after-${randomUUID()}`;
  const first = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } });
  assert.is(first.status, 202);
  await h.s3.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: videoKey })); // as the worker does once it has analysed the video
  const again = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } });
  assert.is(again.status, 200, again.text);
  assert.is(dataOf<AnalysisRecord>(again).id, dataOf<AnalysisRecord>(first).id);
  const other = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey, options: { maxKeyframes: 3 } }, headers: { 'idempotency-key': key } });
  assert.is(other.status, 409, other.text);
  assert.is(errorOf(other).code, 'conflict');
  const fresh = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': `new-${randomUUID()}` } });
  assert.is(errorOf(fresh).code, 'upload_not_found', 'a new key still needs the upload');
  assert.is(await jobsFor(videoKey), 1);
});

create('a repeated key re-enqueues a queued analysis whose job was lost, under the same job id', async () => {
  const videoKey = await upload();
  const key = `heal-${randomUUID()}`;
  const first = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } });
  const id = dataOf<AnalysisRecord>(first).id;
  await (await h.queue.getJob(id))!.remove(); // as if the first enqueue never reached Redis
  const again = await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey }, headers: { 'idempotency-key': key } });
  assert.is(again.status, 200);
  assert.ok(await h.queue.getJob(id), 'the job is back');
  assert.is(await jobsFor(videoKey), 1);
});

const read = suite('GET /v1/analyses/:id');

read('returns the record to its tenant', async () => {
  const created = dataOf<AnalysisRecord>(await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: await upload() } }));
  const r = await h.call('GET', `/v1/analyses/${created.id}`, { token: writer });
  assert.is(r.status, 200);
  assert.equal(dataOf<AnalysisRecord>(r), created);
});

read("another tenant's id is 404 not_found, same as a missing one", async () => {
  const created = dataOf<AnalysisRecord>(await h.call('POST', '/v1/analyses', { token: writer, body: { videoKey: await upload() } }));
  const reader = await h.token('analyses:read', { tenant_id: 'globex' });
  const r = await h.call('GET', `/v1/analyses/${created.id}`, { token: reader });
  assert.is(r.status, 404);
  assert.is(errorOf(r).code, 'not_found');
  const missing = await h.call('GET', '/v1/analyses/an_ffffffffffffffffffffffffffffffff', { token: reader });
  assert.is(missing.status, 404);
  assert.is(errorOf(missing).message.replace(/an_\w+/, 'ID'), errorOf(r).message.replace(/an_\w+/, 'ID'));
});

read('a malformed id is 400 at path.id, before Redis is asked', async () => {
  const r = await h.call('GET', '/v1/analyses/an_x:y', { token: writer });
  assert.is(r.status, 400);
  assert.match(problemAt(r, 'path.id'), /must match pattern/);
});

const down = suite('while Redis is down');

down('POST and GET answer 503 service_unavailable at once, revealing nothing internal', async () => {
  const d = await startApiHarness('api-analyses-down', { appRedisUrl: `redis://127.0.0.1:${await freePort()}` });
  try {
    const videoKey = `uploads/acme/${randomUUID()}`;
    await d.s3.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: videoKey, Body: randomBytes(100) }));
    const token = await d.token('analyses:write analyses:read');
    const post = await d.call('POST', '/v1/analyses', { token, body: { videoKey } });
    assert.is(post.status, 503, post.text);
    assert.is(errorOf(post).code, 'service_unavailable');
    assert.not.match(post.text, /enableOfflineQueue|127\.0\.0\.1|ECONNREFUSED/);
    const get = await d.call('GET', '/v1/analyses/an_0123456789abcdef0123456789abcdef', { token });
    assert.is(get.status, 503);
    const logged = await d.waitForLog((l) => l.msg === 'request failed' && l.code === 'service_unavailable');
    assert.ok(JSON.stringify(logged).includes('enableOfflineQueue'), 'the log keeps the real cause');
  } finally {
    await d.close();
  }
});

down.after(async () => {
  await h.close();
});

body.run();
create.run();
read.run();
down.run();
