/**
 * Idempotency by content under concurrency (issue 4 point 5), with two real BullMQ workers (two replicas) against
 * the stand-ins and a counting proxy in front of Azurite:
 * - two analyses of the same bytes and options submitted at once: one claims the content and does the work, the
 *   other is delayed (record back to `queued`, job `delayed`) while the first is held mid-vision, then reuses its
 *   result: one set of model calls, each keyframe written once, and the reuser's keyframes are copies under its
 *   own prefix;
 * - a claim left by a dead owner (no renewals) is taken over once it expires: the waiter runs the pipeline itself;
 * - a claim held by the analysis itself (its worker was SIGKILLed, the job re-delivered) is taken over at once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { makeClip } from '../../devstack/samples.ts';
import { createBlobServiceClient } from '../../services/platform/blob.ts';
import { createRedis } from '../../services/platform/redis.ts';
import { createAnalysisWorker, closeWorker } from '../../services/worker/worker.ts';
import { optionsHash } from '../../services/analyses/content-index.ts';
import type { AnalysisRecord } from '../../services/analyses/types.ts';
import { fixtureDir } from '../media/media-fixtures.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { startBlobWriteCounter } from './blob-write-counter.ts';
import { bytesOf, CONTAINER, startHarness } from './pipeline-harness.ts';

const QUEUE = 'same-content';
const h = await startHarness('content-concurrency');
const fx = await fixtureDir('content-concurrency');
const counter = await startBlobWriteCounter(h.stack.blob!.url, h.stack.blob!.connectionString);
const counted = createBlobServiceClient({ AZURE_STORAGE_CONNECTION_STRING: counter.connectionString }).getContainerClient(CONTAINER);
let release: () => void = () => undefined;
const ai = new FakeCoordinator({ hold: new Promise<void>((resolve) => (release = resolve)) });
const queue = h.queue(QUEUE);
const conns = [createRedis(h.stack.redisUrl, 'worker'), createRedis(h.stack.redisUrl, 'worker')];
// Two replicas, one job each at a time.
const workers = conns.map((conn, i) =>
  createAnalysisWorker(conn, { ...h.deps(ai), keyframes: counted }, { queueName: QUEUE, prefix: h.stack.keyPrefix, concurrency: 1, jobTimeoutMs: 60_000, name: `replica-${i}` }),
);
test.after(async () => {
  release();
  await Promise.all(workers.map((w) => closeWorker(w, 10_000)));
  conns.forEach((c) => c.disconnect());
  await counter.close();
  await h.close();
  await fx.cleanup();
});

const blobPath = (name: string): string => `/devstoreaccount1/${CONTAINER}/${name}`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two analyses of the same content at once: one does the work, the other waits and reuses it', async () => {
  const bytes = await bytesOf(await makeClip(fx.path('same.mp4'), { seconds: 3, width: 320, height: 180, audio: false }));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const [keyA, keyB] = [await h.upload(bytes), await h.upload(bytes)];
  const ids = await Promise.all([keyA, keyB].map((k) => h.submit(queue, k, { options: { maxKeyframes: 4 } })));

  // The owner is held in its vision calls (the models answer only on release); the other must be delayed meanwhile.
  await until('a vision call', async () => (ai.visionCalls > 0 ? true : undefined));
  const waiterId = await until('one job delayed', async () => {
    const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
    const i = states.indexOf('delayed');
    return i >= 0 ? ids[i] : undefined;
  });
  const ownerId = ids.find((id) => id !== waiterId)!;
  const waiting = (await h.store.get(waiterId))!;
  assert.is(waiting.status, 'queued', 'the waiting analysis is back to queued');
  assert.is(waiting.attempts, 0, 'waiting is not an attempt');
  assert.is((await h.store.get(ownerId))!.status, 'running');
  assert.is(await h.redis.get(h.claims.key({ tenantId: 'tenant-a', sha256: sha, optsHash: optionsHash({ maxKeyframes: 4 }) })), ownerId, 'the owner holds the claim');
  // Let it be delayed a few more times while the owner is held: still no second run.
  await new Promise((r) => setTimeout(r, 700));
  const visionWhileHeld = ai.visionCalls;
  release();

  const [owner, waiter] = [await h.waitFinal(queue, ownerId), await h.waitFinal(queue, waiterId)];
  assert.is(owner.status, 'succeeded', JSON.stringify(owner.error));
  assert.is(waiter.status, 'succeeded', JSON.stringify(waiter.error));
  assert.is(waiter.attempts, 1, 'the waiter counts one attempt: the one that reused');

  // Exactly one set of model calls: the owner's.
  const n = owner.result!.keyframes.length;
  assert.ok(n >= 1);
  assert.is(ai.visionCalls, n, 'one vision call per keyframe of the one analysis');
  assert.is(ai.visionCalls, visionWhileHeld, 'no vision call after the hold');
  assert.is(ai.textCalls, 1, 'one report call');
  assert.is(owner.result!.modelCalls.length, n + 1);
  assert.equal(waiter.result!.modelCalls, []);
  assert.is(waiter.result!.totalCostUsd, 0);
  assert.equal(waiter.result!.report, owner.result!.report);

  // Exactly one set of keyframe writes (the owner's, once each); the waiter's keyframes are copies under its prefix.
  assert.equal([...counter.writes.keys()].sort(), owner.result!.keyframes.map((k) => blobPath(k.blobName)).sort(), 'blobs written: the owner\'s keyframes only');
  assert.ok([...counter.writes.values()].every((c) => c === 1), 'each written once');
  assert.ok(waiter.result!.keyframes.every((k) => k.blobName.startsWith(`${waiterId}/`)), 'the waiter owns its keyframes');
  assert.equal([...counter.copies.keys()].sort(), waiter.result!.keyframes.map((k) => blobPath(k.blobName)).sort(), 'the waiter got copies');
  assert.ok([...counter.copies.values()].every((c) => c === 1), 'each copied once');
  assert.equal(waiter.result!.keyframes.map((k) => k.timestampSec), owner.result!.keyframes.map((k) => k.timestampSec));

  // The delayed job learned the hash and decided without downloading again; nothing is left behind.
  assert.is((await queue.getJob(waiterId))!.data.contentSha256, sha);
  assert.is(await h.redis.exists(h.claims.key({ tenantId: 'tenant-a', sha256: sha, optsHash: optionsHash({ maxKeyframes: 4 }) })), 0, 'claim released');
  assert.equal((await h.redis.zrange(h.contents.key('tenant-a', sha, optionsHash({ maxKeyframes: 4 })), '0', '-1')).sort(), [...ids].sort());
  assert.not.ok(await h.s3Exists(keyA));
  assert.not.ok(await h.s3Exists(keyB));
  assert.equal(await h.workDirEntries(), []);
});

test('a claim whose owner died is taken over once its lease runs out', async () => {
  const bytes = await bytesOf(await makeClip(fx.path('orphan.mp4'), { seconds: 2, width: 320, height: 180, audio: false }));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const claimKey = h.claims.key({ tenantId: 'tenant-a', sha256: sha, optsHash: optionsHash({ maxKeyframes: 8 }) });
  // What a SIGKILLed owner leaves: its claim, no longer renewed.
  const dead = 'an_deaddeaddeaddeaddeaddeaddeaddead';
  await h.redis.set(claimKey, dead, 'PX', 1500);
  const before = ai.visionCalls + ai.textCalls;
  const startedAt = Date.now();
  const id = await h.submit(queue, await h.upload(bytes));
  const rec: AnalysisRecord = await h.waitFinal(queue, id);
  assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
  assert.ok(rec.result!.modelCalls.length > 0, 'it ran the pipeline itself');
  assert.ok(ai.visionCalls + ai.textCalls > before);
  assert.is((await queue.getJob(id))!.data.contentSha256, sha, 'it was delayed while the dead claim lived');
  assert.ok(Date.now() - startedAt >= 1000, 'it did wait for the lease');
  assert.is(await h.redis.exists(claimKey), 0, 'its own claim was released');
  assert.equal(await h.redis.zrange(h.contents.key('tenant-a', sha, optionsHash({ maxKeyframes: 8 })), '0', '-1'), [id]);
});

test("a claim held by the analysis itself (its killed predecessor's) is taken over at once", async () => {
  const bytes = await bytesOf(await makeClip(fx.path('own.mp4'), { seconds: 2, width: 160, height: 90, audio: false }));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const claimKey = h.claims.key({ tenantId: 'tenant-a', sha256: sha, optsHash: optionsHash({ maxKeyframes: 8 }) });
  const key = await h.upload(bytes);
  const { record } = await h.store.create({ tenantId: 'tenant-a', videoKey: key, tier: 'pro', options: {} });
  await h.redis.set(claimKey, record.id, 'PX', 60_000);
  await queue.add('analyze-video', { analysisId: record.id, tenantId: 'tenant-a', videoKey: key, options: {} }, { jobId: record.id, attempts: 1, priority: 5 });
  const rec = await h.waitFinal(queue, record.id);
  assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
  assert.is((await queue.getJob(record.id))!.data.contentSha256, undefined, 'never delayed');
  assert.is(await h.redis.exists(claimKey), 0, 'released at the end');
});

test.run();
