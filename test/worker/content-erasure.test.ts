/**
 * Content reuse and GDPR erasure (issue 4 points 5 and 6, DELETE /v1/analyses/:id) through a real BullMQ worker,
 * the real erasure operation and the stand-ins: an analysis that reused another owns copies of its keyframes, so
 * erasing the original leaves the reuser readable (and reusable by the next upload), erasing the reuser leaves the
 * original whole, and no content-index key names an erased analysis. A prior whose keyframes vanish while being
 * copied makes the reusing analysis run the pipeline itself.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { makeClip } from '../../devstack/samples.ts';
import { createRedis } from '../../services/platform/redis.ts';
import { createAnalysisWorker, closeWorker } from '../../services/worker/worker.ts';
import { contentRefKey, optionsHash } from '../../services/analyses/content-index.ts';
import type { AnalysisRecord } from '../../services/analyses/types.ts';
import { eraseAnalysis } from '../../services/api/operations/erase-analysis.ts';
import type { Principal } from '../../services/api/auth/principal.ts';
import { copyKeyframes, SourceKeyframeMissingError } from '../../services/worker/keyframe-store.ts';
import { fixtureDir } from '../media/media-fixtures.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { BUCKET, bytesOf, startHarness } from './pipeline-harness.ts';

const QUEUE = 'content-erasure';
const h = await startHarness('content-erasure');
const fx = await fixtureDir('content-erasure');
const ai = new FakeCoordinator();
const queue = h.queue(QUEUE);
const conn = createRedis(h.stack.redisUrl, 'worker');
const worker = createAnalysisWorker(conn, h.deps(ai), { queueName: QUEUE, prefix: h.stack.keyPrefix, concurrency: 1, jobTimeoutMs: 60_000 });
const caller: Principal = { subject: 'user-1', tenantId: 'tenant-a', scopes: new Set(['analyses:write']), tier: 'pro' };
const eraseDeps = { store: h.store, queue, s3: h.s3, bucket: BUCKET, keyframes: h.container, redis: h.redis, prefix: h.stack.keyPrefix };
test.after(async () => {
  await closeWorker(worker, 10_000);
  conn.disconnect();
  await h.close();
  await fx.cleanup();
});

const modelCalls = (): number => ai.visionCalls + ai.textCalls;

async function analyse(bytes: Buffer): Promise<AnalysisRecord> {
  const rec = await h.waitFinal(queue, await h.submit(queue, await h.upload(bytes)));
  assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
  return rec;
}

/** Each keyframe blob's bytes, by blob name. */
async function keyframeBytes(rec: AnalysisRecord): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const k of rec.result!.keyframes) out.set(k.blobName, await h.container.getBlockBlobClient(k.blobName).downloadToBuffer());
  return out;
}

/** Every content-index key of the test's prefix that has `id` as a member. */
async function contentKeysNaming(id: string): Promise<string[]> {
  const keys = await h.redis.keys(`${h.stack.keyPrefix}:content:*`);
  const hits: string[] = [];
  for (const k of keys) if ((await h.redis.zscore(k, id)) !== null) hits.push(k);
  return hits;
}

async function clip(name: string, seconds: number, width: number): Promise<{ bytes: Buffer; key: string }> {
  const bytes = await bytesOf(await makeClip(fx.path(name), { seconds, width, height: 180, audio: false }));
  const sha = createHash('sha256').update(bytes).digest('hex');
  return { bytes, key: h.contents.key('tenant-a', sha, optionsHash({ maxKeyframes: 8 })) };
}

test('erasing the reuser leaves the original whole', async () => {
  const { bytes, key } = await clip('a.mp4', 3, 320);
  const original = await analyse(bytes);
  const calls = modelCalls();
  const reuser = await analyse(bytes);
  assert.is(modelCalls(), calls, 'the second analysis reused the first');
  const originalBlobs = await keyframeBytes(original);

  const report = await eraseAnalysis(eraseDeps, caller, reuser.id, h.logger);
  assert.is(report.erased.keyframes, reuser.result!.keyframes.length, "the reuser's own copies were erased");
  assert.equal(await h.blobNames(`${reuser.id}/`), []);
  assert.equal(await keyframeBytes(original), originalBlobs, "the original's keyframes are untouched");
  assert.equal(await h.store.get(original.id), original, 'the original record is untouched');
  assert.equal(await contentKeysNaming(reuser.id), [], 'no content key names the erased reuser');
  assert.is(await h.redis.exists(contentRefKey(h.stack.keyPrefix, reuser.id)), 0);
  assert.equal(await h.redis.zrange(key, '0', '-1'), [original.id], 'the original stays reusable');
});

test('erasing the original leaves the reuser readable and reusable', async () => {
  const { bytes, key } = await clip('b.mp4', 3, 240);
  const original = await analyse(bytes);
  const reuser = await analyse(bytes);
  assert.equal(reuser.result!.modelCalls, []);
  const reuserBlobs = await keyframeBytes(reuser);
  assert.ok(reuserBlobs.size >= 1);

  const report = await eraseAnalysis(eraseDeps, caller, original.id, h.logger);
  assert.is(report.erased.record, true);
  assert.is(report.erased.keyframes, original.result!.keyframes.length);
  assert.equal(await h.blobNames(`${original.id}/`), [], "the original's keyframes are gone");
  assert.equal(await keyframeBytes(reuser), reuserBlobs, "the reuser's keyframes are still readable, same bytes");
  assert.equal(await contentKeysNaming(original.id), [], 'no content key names the erased original');
  assert.is(await h.redis.exists(contentRefKey(h.stack.keyPrefix, original.id)), 0);
  assert.equal(await h.redis.zrange(key, '0', '-1'), [reuser.id]);

  // The next upload of the same bytes reuses the surviving analysis.
  const calls = modelCalls();
  const third = await analyse(bytes);
  assert.is(modelCalls(), calls, 'reused, no model call');
  assert.equal(third.result!.report, reuser.result!.report);
  assert.ok(third.result!.keyframes.every((k) => k.blobName.startsWith(`${third.id}/`)));
});

test('copyKeyframes of a vanished keyframe throws SourceKeyframeMissingError', async () => {
  const gone = { index: 0, timestampSec: 0, blobName: 'an_00000000000000000000000000000001/keyframe-0-0.jpg', width: 2, height: 2, bytes: 1 };
  try {
    await copyKeyframes(h.container, 'an_00000000000000000000000000000002', [gone], { concurrency: 1 });
    assert.unreachable('copied a missing blob');
  } catch (err) {
    assert.instance(err, SourceKeyframeMissingError);
  }
});

test('a prior whose keyframes vanished (erased mid-reuse) → the analysis runs the pipeline itself', async () => {
  const { bytes } = await clip('c.mp4', 2, 200);
  const sha = createHash('sha256').update(bytes).digest('hex');
  // A succeeded analysis of this content whose blobs are gone, as erasure leaves it between its blob and record steps.
  const donor = await analyse((await clip('d.mp4', 2, 180)).bytes);
  const { record: ghost } = await h.store.create({ tenantId: 'tenant-a', videoKey: 'uploads/gone.mp4', tier: 'pro', options: {} });
  await h.store.complete(ghost.id, { ...donor.result!, keyframes: donor.result!.keyframes.map((k) => ({ ...k, blobName: `${ghost.id}/keyframe-${k.index}-0.jpg` })) });
  await h.contents.remember('tenant-a', sha, optionsHash({ maxKeyframes: 8 }), ghost.id);

  const calls = modelCalls();
  const rec = await analyse(bytes);
  assert.ok(modelCalls() > calls, 'models called');
  assert.ok(rec.result!.modelCalls.length > 0);
  assert.equal(await h.blobNames(`${rec.id}/`), rec.result!.keyframes.map((k) => k.blobName).sort(), 'exactly its own keyframes');
});

test.run();
