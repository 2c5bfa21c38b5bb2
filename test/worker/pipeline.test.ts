/**
 * The pipeline through a real BullMQ worker against the stand-ins (Redis, s3rver, Azurite) with the real SDK
 * clients and real ffmpeg; the AI coordinator is an injected fake that computes its answers from its input.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from '../../devstack/samples.ts';
import { TransientError } from '../../services/platform/errors.ts';
import { createRedis } from '../../services/platform/redis.ts';
import { createAnalysisWorker, closeWorker } from '../../services/worker/worker.ts';
import { JOB_DIR_PREFIX, sweepOrphanedJobDirs } from '../../services/worker/job-dirs.ts';
import { activeToolCount } from '../../services/media/process.ts';
import { fixtureDir } from '../media/media-fixtures.ts';
import { describeForTest, FakeCoordinator } from './fake-coordinator.ts';
import { bytesOf, md5, startHarness } from './pipeline-harness.ts';
import type { PipelineLimits } from '../../services/worker/pipeline.ts';
import { mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';

const h = await startHarness('pipeline');
const fx = await fixtureDir('pipeline-clips');
test.after(async () => {
  await h.close();
  await fx.cleanup();
});

let queueN = 0;
/** A queue and a worker of its own per test, so tests cannot see each other's jobs. */
function workerFor(ai: FakeCoordinator, o: { jobTimeoutMs?: number; limits?: Partial<PipelineLimits> } = {}) {
  const name = `analyses-${queueN++}`;
  const queue = h.queue(name);
  const conn = createRedis(h.stack.redisUrl, 'worker');
  const worker = createAnalysisWorker(conn, h.deps(ai, o.limits), {
    queueName: name, prefix: h.stack.keyPrefix, concurrency: 2, jobTimeoutMs: o.jobTimeoutMs ?? 60_000,
  });
  return {
    queue,
    worker,
    stop: async () => {
      await closeWorker(worker, 10_000);
      conn.disconnect();
    },
  };
}

test('a real upload of a generated clip → succeeded, keyframes in Blob, S3 object and temp dir gone', async () => {
  const ai = new FakeCoordinator();
  const { queue, stop } = workerFor(ai);
  try {
    const clip = await makeClip(fx.path('three-scenes.mp4'), { seconds: 6 });
    const key = await h.upload(await bytesOf(clip));
    const id = await h.submit(queue, key);
    const rec = await h.waitFinal(queue, id);
    assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
    assert.is(rec.attempts, 1);
    assert.equal(rec.progress, { step: 'done', percent: 100 });
    const result = rec.result!;

    // Video facts from ffprobe.
    assert.is(result.video.codec, 'h264');
    assert.is(result.video.width, 640);
    assert.ok(Math.abs(result.video.durationSec - 6) < 0.2);
    assert.ok(result.video.hasAudio);

    // Keyframes: the three scenes give at least three distinct frames, each uploaded under <id>/.
    const kfs = result.keyframes;
    assert.ok(kfs.length >= 3 && kfs.length <= h.limits.maxKeyframes, `${kfs.length} keyframes`);
    const blobs = await h.blobNames(`${id}/`);
    assert.equal(blobs, kfs.map((k) => k.blobName).sort());
    for (const k of kfs) {
      assert.match(k.blobName, new RegExp(`^${id}/keyframe-${k.index}-${Math.round(k.timestampSec * 1000)}\\.jpg$`));
      const blob = h.container.getBlobClient(k.blobName);
      const props = await blob.getProperties();
      const bytes = await blob.downloadToBuffer();
      assert.is(props.contentType, 'image/jpeg');
      assert.is(Buffer.from(props.contentMD5!).toString('base64'), md5(bytes));
      assert.is(bytes.length, k.bytes);
      // The vision note is what the model computes from exactly this image.
      assert.is(k.note, await describeForTest(bytes));
    }

    // One vision call per keyframe plus one report call; cost is their sum.
    assert.is(ai.visionCalls, kfs.length);
    assert.is(ai.textCalls, 1);
    assert.is(result.modelCalls.length, kfs.length + 1);
    const sum = result.modelCalls.reduce((s, c) => s + c.costUsd, 0);
    assert.ok(Math.abs(result.totalCostUsd - sum) < 1e-6);

    // The report passed the schema and its notes line up with the keyframes.
    const report = result.report as { keyframeNotes: Array<{ index: number; timestampSec: number; note: string }>; viralityScore: { score: number } };
    assert.equal(report.keyframeNotes.map((n) => [n.index, n.timestampSec, n.note]), kfs.map((k) => [k.index, k.timestampSec, k.note]));
    assert.is(report.viralityScore.score, Math.min(100, kfs.length * 10));

    for (const step of ['download', 'probe', 'keyframes', 'upload', 'vision', 'report', 'total'] as const) {
      assert.type(result.timingsMs[step], 'number', `timing of ${step}`);
    }
    assert.not.ok(await h.s3Exists(key), 'S3 temp object deleted');
    assert.equal(await h.workDirEntries(), [], 'temp dir removed');
  } finally {
    await stop();
  }
});

test('not a video → failed with its code, not retried, S3 object and temp dir gone, no blobs', async () => {
  const ai = new FakeCoordinator();
  const { queue, stop } = workerFor(ai);
  try {
    const key = await h.upload(Buffer.from('this is not a video\n'));
    const id = await h.submit(queue, key, { attempts: 3 });
    const rec = await h.waitFinal(queue, id);
    assert.is(rec.status, 'failed');
    assert.is(rec.error?.code, 'not_a_video');
    assert.match(rec.error!.message, /not a video/);
    assert.is(rec.attempts, 1);
    const job = await queue.getJob(id);
    assert.is(await job!.getState(), 'failed', 'failed for good, not waiting for a retry');
    assert.match(job!.failedReason, /^not_a_video: /);
    assert.is(ai.visionCalls, 0);
    assert.not.ok(await h.s3Exists(key));
    assert.equal(await h.workDirEntries(), []);
    assert.equal(await h.blobNames(`${id}/`), []);
  } finally {
    await stop();
  }
});

test('a transient AI failure is retried; the S3 object survives until the retry succeeds', async () => {
  const ai = new FakeCoordinator({ failFirst: { n: 1, error: () => new TransientError('model_unavailable', 'fake 503 from the model') } });
  const { queue, stop } = workerFor(ai);
  try {
    const clip = await makeClip(fx.path('retry.mp4'), { seconds: 3, audio: false });
    const key = await h.upload(await bytesOf(clip));
    const id = await h.submit(queue, key, { attempts: 3 });
    const rec = await h.waitFinal(queue, id);
    assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
    assert.is(rec.attempts, 2);
    assert.is(rec.error, undefined, 'the error of the failed attempt is cleared on success');
    assert.not.ok(await h.s3Exists(key));
    assert.equal(await h.workDirEntries(), []);
    // Blob names are deterministic: the retry overwrote, it did not duplicate.
    assert.is((await h.blobNames(`${id}/`)).length, rec.result!.keyframes.length);
  } finally {
    await stop();
  }
});

test('the job timeout aborts the attempt; the last attempt fails the analysis and cleans up everything', async () => {
  const ai = new FakeCoordinator({ hang: true });
  // Long enough for the steps before vision on a loaded machine; the fake then hangs until the timeout.
  const { queue, stop } = workerFor(ai, { jobTimeoutMs: 6000 });
  try {
    const clip = await makeClip(fx.path('hang.mp4'), { seconds: 2, audio: false });
    const key = await h.upload(await bytesOf(clip));
    const id = await h.submit(queue, key, { attempts: 1 });
    const rec = await h.waitFinal(queue, id);
    assert.is(rec.status, 'failed');
    assert.is(rec.error?.code, 'job_timeout');
    // Where the timeout struck depends on machine speed; when vision had started, that is the step recorded.
    if (ai.visionCalls > 0) assert.is(rec.progress.step, 'vision');
    assert.not.ok(await h.s3Exists(key));
    assert.equal(await h.workDirEntries(), []);
    assert.equal(await h.blobNames(`${id}/`), [], 'keyframes of a failed analysis are deleted');
    assert.is(activeToolCount(), 0);
  } finally {
    await stop();
  }
});

test('the start-up sweep removes only old job dirs', async () => {
  const old = join(h.workDir, `${JOB_DIR_PREFIX}an_old-x`);
  const fresh = join(h.workDir, `${JOB_DIR_PREFIX}an_new-y`);
  const other = join(h.workDir, 'not-ours');
  for (const d of [old, fresh, other]) await mkdir(d);
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(old, hourAgo, hourAgo);
  await utimes(other, hourAgo, hourAgo);
  const removed = await sweepOrphanedJobDirs(h.workDir, 120_000);
  assert.equal(removed, [`${JOB_DIR_PREFIX}an_old-x`]);
  assert.equal((await h.workDirEntries()).sort(), [`${JOB_DIR_PREFIX}an_new-y`, 'not-ours']);
});

test.run();
