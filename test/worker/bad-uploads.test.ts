/**
 * Every kind of bad upload through a real BullMQ worker (stand-ins, real ffmpeg, jobs with 3 attempts allowed):
 * each fails with its own error code on the first attempt and is never retried (the pipeline turns the
 * `BadVideoError` into BullMQ's `UnrecoverableError`); no model is called, no blob is written, the S3 temp object
 * and the temp dir are gone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '../../services/platform/redis.ts';
import { createAnalysisWorker, closeWorker } from '../../services/worker/worker.ts';
import type { VideoLimits } from '../../services/media/probe.ts';
import { audioOnly, ffmpeg, fixtureDir, garbleMoov, truncateCopy } from '../media/media-fixtures.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { bytesOf, startHarness } from './pipeline-harness.ts';

const h = await startHarness('bad-uploads');
const fx = await fixtureDir('bad-uploads');
const ai = new FakeCoordinator();
const requests: string[] = [];
const web = createServer((req, res) => {
  requests.push(req.url ?? '');
  res.writeHead(404);
  res.end();
});
await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
const stops: Array<() => Promise<void>> = [];
test.after(async () => {
  for (const s of stops) await s();
  web.closeAllConnections();
  await new Promise<void>((r) => web.close(() => r()));
  await h.close();
  await fx.cleanup();
});

let n = 0;
function workerWith(video: Partial<VideoLimits>) {
  const name = `bad-${n++}`;
  const queue = h.queue(name);
  const conn = createRedis(h.stack.redisUrl, 'worker');
  const worker = createAnalysisWorker(conn, h.deps(ai, { video: { ...h.limits.video, ...video } }), { queueName: name, prefix: h.stack.keyPrefix, concurrency: 2, jobTimeoutMs: 60_000 });
  stops.push(async () => {
    await closeWorker(worker, 10_000);
    conn.disconnect();
  });
  return queue;
}

/** 2 s 320x240 H.264 MP4 with `moov` first (≈ 170 kB). */
function clip(name: string, extra: string[] = []): string {
  const out = fx.path(name);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', ...extra, out]);
  return out;
}

async function expectRefused(queue: ReturnType<typeof workerWith>, body: Buffer, code: string, message?: RegExp): Promise<void> {
  const key = await h.upload(body);
  const id = await h.submit(queue, key, { attempts: 3 });
  const rec = await h.waitFinal(queue, id, 60_000);
  assert.is(rec.status, 'failed', `${code}: ${rec.status}`);
  assert.is(rec.error?.code, code, rec.error?.message);
  if (message) assert.match(rec.error!.message, message);
  assert.not.match(rec.error!.message, /ct-job-|\/tmp\//, 'no temp path in the message');
  assert.is(rec.attempts, 1, `${code}: one attempt, no retry`);
  const job = await queue.getJob(id);
  assert.is(await job!.getState(), 'failed');
  assert.is(job!.attemptsMade, 1, `${code}: BullMQ made one attempt of the 3 allowed`);
  assert.not.ok(await h.s3Exists(key), `${code}: S3 temp object deleted`);
  assert.equal(await h.blobNames(`${id}/`), [], `${code}: no blob`);
  assert.equal(await h.workDirEntries(), [], `${code}: temp dir removed`);
}

test('each kind of bad file fails once with its own code, without retries', async () => {
  const queue = workerWith({});
  const good = clip('good.mp4', ['-movflags', '+faststart']);
  const moovAtEnd = clip('moov-at-end.mp4');
  const segment = fx.path('segment.ts');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libx264', '-f', 'mpegts', segment]);
  const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/exfil/segment.ts`;

  await expectRefused(queue, Buffer.from('this is a plain text file, not a video\n'), 'not_a_video');
  await expectRefused(queue, await bytesOf(await truncateCopy(moovAtEnd, fx.path('truncated.mp4'), 20_000)), 'corrupt_video');
  const full = await bytesOf(good);
  await expectRefused(queue, full.subarray(0, Math.floor(full.length * 0.6)), 'corrupt_video');
  await expectRefused(queue, await bytesOf(await garbleMoov(good, fx.path('garbled.mp4'))), 'corrupt_video', /header/);
  await expectRefused(queue, Buffer.alloc(0), 'empty_file');
  await expectRefused(queue, await bytesOf(audioOnly(fx.path('song.mp4'))), 'no_video_stream', /audio/);
  await writeFile(fx.path('local.m3u8'), `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://${segment}\n#EXT-X-ENDLIST\n`);
  await expectRefused(queue, await bytesOf(fx.path('local.m3u8')), 'unsupported_container', /"hls"/);
  await expectRefused(queue, Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${url}\n#EXT-X-ENDLIST\n`), 'unsupported_container', /"hls"/);
  assert.equal(requests, [], 'the playlist URL was never fetched');
  assert.is(ai.visionCalls + ai.textCalls, 0, 'no model called');
});

test('too long and too large against the configured limits', async () => {
  const queue = workerWith({ maxDurationSec: 1, maxBytes: 100_000 });
  const short = fx.path('short.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:size=160x120:rate=10:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', short]);
  await expectRefused(queue, await bytesOf(short), 'too_long', /over the limit of 1 s/);
  await expectRefused(queue, await bytesOf(clip('big.mp4')), 'too_large', /over the limit of 100000 bytes/);
  assert.is(ai.visionCalls + ai.textCalls, 0, 'no model called');
});

test.run();
