/**
 * Idempotency by content (issue 4 point 5) through a real BullMQ worker against the stand-ins: the same bytes
 * uploaded again under another key with the same options give the same analysis (same report, keyframe times and
 * notes) with no model call and no keyframe written again, its keyframes being server-side copies under its own
 * prefix; other options or another tenant run the pipeline again. The Redis key is
 * `<prefix>:content:<tenant>:<sha256>:<optionsHash>` (a sorted set of analysis ids), and the hash is of the bytes
 * streamed from S3.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { makeClip } from '../../devstack/samples.ts';
import { createRedis } from '../../services/platform/redis.ts';
import { createAnalysisWorker, closeWorker } from '../../services/worker/worker.ts';
import { optionsHash } from '../../services/analyses/content-index.ts';
import { fixtureDir } from '../media/media-fixtures.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { bytesOf, startHarness } from './pipeline-harness.ts';

const h = await startHarness('content-reuse');
const fx = await fixtureDir('content-reuse');
const ai = new FakeCoordinator();
const queue = h.queue('content');
const conn = createRedis(h.stack.redisUrl, 'worker');
const worker = createAnalysisWorker(conn, h.deps(ai), { queueName: 'content', prefix: h.stack.keyPrefix, concurrency: 1, jobTimeoutMs: 60_000 });
test.after(async () => {
  await closeWorker(worker, 10_000);
  conn.disconnect();
  await h.close();
  await fx.cleanup();
});

test('optionsHash is order-independent and tells different options apart', () => {
  const a = optionsHash({ maxKeyframes: 4 });
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.is.not(a, optionsHash({ maxKeyframes: 5 }));
});

test('same content + options → the first analysis is reused; other options or tenant → a new run', async () => {
  const bytes = await bytesOf(await makeClip(fx.path('clip.mp4'), { seconds: 3, width: 320, height: 180, audio: false }));
  const sha = createHash('sha256').update(bytes).digest('hex');

  const first = await h.waitFinal(queue, await h.submit(queue, await h.upload(bytes), { options: { maxKeyframes: 4 } }));
  assert.is(first.status, 'succeeded', JSON.stringify(first.error));
  const calls = ai.visionCalls + ai.textCalls;
  assert.ok(calls >= 2, 'the first analysis called the models');
  const contentKey = h.contents.key('tenant-a', sha, optionsHash({ maxKeyframes: 4 }));
  assert.equal(await h.redis.zrange(contentKey, '0', '-1'), [first.id], 'indexed by the SHA-256 of the bytes');
  const blobsBefore = await h.blobNames('');

  // Same bytes, another upload key, same options: the same analysis, no model call, no blob written.
  const againKey = await h.upload(bytes);
  const again = await h.waitFinal(queue, await h.submit(queue, againKey, { options: { maxKeyframes: 4 } }));
  assert.is(again.status, 'succeeded', JSON.stringify(again.error));
  assert.is.not(again.id, first.id);
  assert.equal(again.result!.report, first.result!.report);
  const own = (id: string, blobName: string): string => blobName.replace(/^[^/]+\//, `${id}/`);
  assert.equal(again.result!.keyframes, first.result!.keyframes.map((k) => ({ ...k, blobName: own(again.id, k.blobName) })), 'same keyframes, under its own prefix');
  assert.equal(again.result!.video, first.result!.video);
  assert.equal(again.result!.modelCalls, []);
  assert.is(again.result!.totalCostUsd, 0);
  assert.is(ai.visionCalls + ai.textCalls, calls, 'no model call');
  assert.equal(await h.blobNames(`${first.id}/`), blobsBefore.filter((n) => n.startsWith(`${first.id}/`)), "the first analysis's blobs untouched");
  assert.equal(await h.blobNames(''), [...blobsBefore, ...again.result!.keyframes.map((k) => k.blobName)].sort(), 'only the copies were added');
  for (const [i, k] of again.result!.keyframes.entries()) {
    const copy = h.container.getBlockBlobClient(k.blobName);
    assert.equal(await copy.downloadToBuffer(), await h.container.getBlockBlobClient(first.result!.keyframes[i]!.blobName).downloadToBuffer(), `copy ${k.blobName} has the bytes`);
    const props = await copy.getProperties();
    assert.is(props.contentType, 'image/jpeg');
    assert.is(props.metadata?.analysisid, again.id);
  }
  assert.equal((await h.redis.zrange(contentKey, '0', '-1')).sort(), [first.id, again.id].sort(), 'both analyses are indexed');
  assert.not.ok(await h.s3Exists(againKey), 'the duplicate upload is deleted too');
  assert.equal(await h.workDirEntries(), []);

  // Options that change the outcome: a new run (maxKeyframes 2 is a different analysis).
  const other = await h.waitFinal(queue, await h.submit(queue, await h.upload(bytes), { options: { maxKeyframes: 2 } }));
  assert.is(other.status, 'succeeded', JSON.stringify(other.error));
  assert.ok(ai.visionCalls + ai.textCalls > calls, 'other options → models called');
  assert.ok(other.result!.modelCalls.length > 0);

  // Another tenant never reuses tenant-a's analysis.
  const before = ai.visionCalls + ai.textCalls;
  const foreign = await h.waitFinal(queue, await h.submit(queue, await h.upload(bytes), { options: { maxKeyframes: 4 }, tenantId: 'tenant-b' }));
  assert.is(foreign.status, 'succeeded', JSON.stringify(foreign.error));
  assert.ok(ai.visionCalls + ai.textCalls > before, 'other tenant → models called');
  assert.ok(foreign.result!.keyframes.every((k) => k.blobName.startsWith(`${foreign.id}/`)));

  // Different bytes (one byte appended after the moov box is still a valid MP4 for ffmpeg) → not reused.
  const changed = Buffer.concat([bytes, Buffer.from([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65])]); // an empty `free` box
  const before2 = ai.visionCalls + ai.textCalls;
  const third = await h.waitFinal(queue, await h.submit(queue, await h.upload(changed), { options: { maxKeyframes: 4 } }));
  assert.is(third.status, 'succeeded', JSON.stringify(third.error));
  assert.ok(ai.visionCalls + ai.textCalls > before2, 'other bytes → models called');
});

test('a content entry pointing at a missing analysis is ignored: the pipeline runs', async () => {
  const bytes = await bytesOf(await makeClip(fx.path('clip2.mp4'), { seconds: 2, width: 320, height: 180, audio: false }));
  const sha = createHash('sha256').update(bytes).digest('hex');
  await h.contents.remember('tenant-a', sha, optionsHash({ maxKeyframes: 8 }), 'an_00000000000000000000000000000000');
  const before = ai.visionCalls + ai.textCalls;
  const rec = await h.waitFinal(queue, await h.submit(queue, await h.upload(bytes)));
  assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
  assert.ok(ai.visionCalls + ai.textCalls > before);
  assert.equal(await h.redis.zrange(h.contents.key('tenant-a', sha, optionsHash({ maxKeyframes: 8 })), '0', '-1'), [rec.id], 'the missing one was dropped, the new one added');
});

test.run();
