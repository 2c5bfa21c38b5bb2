/**
 * POST /v1/uploads: the presigned PUT URL really uploads the bytes to S3 (s3rver), and is bound to key, type and size.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { dataOf, errorOf, startApiHarness, TEST_BUCKET, TEST_VIDEO_MAX_BYTES, type ApiHarness } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-uploads');
const write = await h.token('analyses:write');

interface Ticket {
  uploadUrl: string;
  videoKey: string;
  expiresAt: string;
  headers: { 'Content-Type': string; 'Content-Length': string };
}

const uploads = suite('POST /v1/uploads');

uploads('returns a ticket whose URL uploads the exact bytes to uploads/<tenant>/<uuid>', async () => {
  const bytes = randomBytes(64 * 1024);
  const r = await h.call('POST', '/v1/uploads', { token: write, body: { contentType: 'video/mp4', bytes: bytes.length } });
  assert.is(r.status, 200, r.text);
  const t = dataOf<Ticket>(r);
  assert.match(t.videoKey, /^uploads\/acme\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(t.headers, { 'Content-Type': 'video/mp4', 'Content-Length': String(bytes.length) });
  const minutesLeft = (Date.parse(t.expiresAt) - Date.now()) / 60_000;
  assert.ok(minutesLeft > 14 && minutesLeft <= 15, `expires in ${minutesLeft} min`);

  const put = await fetch(t.uploadUrl, { method: 'PUT', headers: t.headers, body: bytes });
  assert.is(put.status, 200, await put.text());
  const head = await h.s3.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: t.videoKey }));
  assert.is(head.ContentLength, bytes.length);
  assert.is(head.ContentType, 'video/mp4');
  const got = await h.s3.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: t.videoKey }));
  const stored = Buffer.from(await got.Body!.transformToByteArray());
  assert.is(createHash('sha256').update(stored).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
});

uploads('signs Content-Type and Content-Length into the URL, valid 900 s, with no empty-body checksum', async () => {
  const r = await h.call('POST', '/v1/uploads', { token: write, body: { contentType: 'video/webm', bytes: 1000 } });
  const url = new URL(dataOf<Ticket>(r).uploadUrl);
  assert.is(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
  assert.is(url.searchParams.get('X-Amz-Expires'), '900');
  assert.is(url.searchParams.get('x-amz-checksum-crc32'), null);
  assert.ok(url.pathname.startsWith(`/${TEST_BUCKET}/uploads/acme/`));
});

uploads('S3 refuses a PUT with another size or type than the ticket (403 SignatureDoesNotMatch) and stores nothing', async () => {
  const r = await h.call('POST', '/v1/uploads', { token: write, body: { contentType: 'video/mp4', bytes: 1000 } });
  const t = dataOf<Ticket>(r);
  for (const [headers, body] of [
    [{ 'Content-Type': 'video/mp4' }, randomBytes(1001)],
    [{ 'Content-Type': 'text/html' }, randomBytes(1000)],
  ] as const) {
    const put = await fetch(t.uploadUrl, { method: 'PUT', headers, body });
    assert.is(put.status, 403);
    assert.match(await put.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  }
  const missing = await h.s3.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: t.videoKey })).then(() => 'stored', (e: Error) => e.name);
  assert.is(missing, 'NotFound');
  const ok = await fetch(t.uploadUrl, { method: 'PUT', headers: t.headers, body: randomBytes(1000) });
  assert.is(ok.status, 200, 'the ticket still works with the signed size and type');
});

uploads('each tenant gets keys under its own prefix', async () => {
  const other = await h.token('analyses:write', { tenant_id: 'globex' });
  const r = await h.call('POST', '/v1/uploads', { token: other, body: { contentType: 'video/quicktime', bytes: 10 } });
  assert.match(dataOf<Ticket>(r).videoKey, /^uploads\/globex\//);
});

const invalid = suite('POST /v1/uploads with a bad body');

const cases: Array<[string, unknown, string, RegExp]> = [
  ['a size over VIDEO_MAX_BYTES', { contentType: 'video/mp4', bytes: TEST_VIDEO_MAX_BYTES + 1 }, 'body.bytes', new RegExp(`<= ${TEST_VIDEO_MAX_BYTES}`)],
  ['a content type that is not a video', { contentType: 'text/html', bytes: 10 }, 'body.contentType', /must be one of: video\/mp4, video\/webm, video\/quicktime/],
  ['a size given as a string', { contentType: 'video/mp4', bytes: '10' }, 'body.bytes', /must be integer/],
  ['a size of zero', { contentType: 'video/mp4', bytes: 0 }, 'body.bytes', /must be >= 1/],
  ['an unknown field', { contentType: 'video/mp4', bytes: 10, acl: 'public-read' }, 'body.acl', /not an allowed field/],
  ['a missing content type', { bytes: 10 }, 'body.contentType', /is required/],
];
for (const [title, body, where, message] of cases) {
  invalid(`rejects ${title} with 400 validation_failed at ${where}`, async () => {
    const r = await h.call('POST', '/v1/uploads', { token: write, body });
    assert.is(r.status, 400);
    const e = errorOf(r);
    assert.is(e.code, 'validation_failed');
    const problem = e.details?.problems?.find((p) => p.where === where);
    assert.ok(problem, `no problem at ${where}: ${JSON.stringify(e.details)}`);
    assert.match(problem.message, message);
  });
}

invalid.after(async () => {
  await h.close();
});

uploads.run();
invalid.run();
