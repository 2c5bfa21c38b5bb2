/**
 * Keyframe extraction on the real samples (when ../shared is present) and on generated clips: counts, timestamps,
 * frame size limit, near-duplicate drop, cap, fallback sampling, and the folded-in decode check.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { samplePath, makeClip } from '../../devstack/samples.ts';
import { probeVideo, DEFAULT_VIDEO_LIMITS, KEYFRAME_SCAN_SEC } from '../../services/media/probe.ts';
import { extractKeyframes, MAX_FRAME_SIDE_PX, type KeyframeExtraction, type KeyframeOptions } from '../../services/media/keyframes.ts';
import { hammingDistance, NEAR_DUPLICATE_MAX_DISTANCE } from '../../services/media/perceptual-hash.ts';
import { BadVideoError } from '../../services/media/bad-video-error.ts';
import { activeToolCount } from '../../services/media/process.ts';
import { ffmpeg, ffprobe, fixtureDir, manyKeyframes, oneKeyframeScenes, packetBoundaryOffset, stillClip, truncateCopy } from './media-fixtures.ts';

const fx = await fixtureDir('keyframes');
test.after(() => fx.cleanup());
let outN = 0;

async function extract(file: string, o: Partial<KeyframeOptions> = {}): Promise<{ r: KeyframeExtraction; durationSec: number; outDir: string }> {
  const p = await probeVideo(file, DEFAULT_VIDEO_LIMITS);
  const outDir = join(fx.dir, `out-${outN++}`);
  await mkdir(outDir);
  const r = await extractKeyframes(file, p, { outDir, maxKeyframes: 12, timeoutMs: 60_000, ...o });
  return { r, durationSec: p.durationSec, outDir };
}

/** The invariants every extraction must satisfy. */
async function assertWellFormed(r: KeyframeExtraction, durationSec: number, max: number, outDir: string): Promise<void> {
  assert.ok(r.frames.length >= 1, 'at least one frame');
  assert.ok(r.frames.length <= max, `at most ${max} frames, got ${r.frames.length}`);
  r.frames.forEach((f, i) => {
    assert.is(f.index, i);
    assert.ok(f.timestampSec >= 0 && f.timestampSec <= durationSec + 1e-6, `timestamp ${f.timestampSec} within 0..${durationSec}`);
    if (i > 0) assert.ok(f.timestampSec > r.frames[i - 1]!.timestampSec, 'timestamps strictly ascending');
    assert.ok(Math.max(f.width, f.height) <= MAX_FRAME_SIDE_PX, `long side ${Math.max(f.width, f.height)} ≤ ${MAX_FRAME_SIDE_PX}`);
    if (i > 0) assert.ok(hammingDistance(f.hash, r.frames[i - 1]!.hash) > NEAR_DUPLICATE_MAX_DISTANCE, 'neighbours are distinct');
  });
  for (const f of r.frames) {
    const meta = await sharp(f.path).metadata();
    assert.is(meta.format, 'jpeg');
    assert.is(meta.width, f.width);
    assert.is((await stat(f.path)).size, f.bytes);
  }
  // Dropped frames are deleted: only the kept JPEGs remain.
  assert.is((await readdir(outDir)).length, r.frames.length);
}

function sampleTest(name: string, file: string, fn: (path: string) => Promise<void>): void {
  const path = samplePath(file);
  if (!path) {
    console.log(`skip: ${name} — ../shared/samples/videos is not present`);
    test.skip(name, () => undefined);
  } else test(name, () => fn(path));
}

sampleTest('flower.mp4: keyframes with times, within limits', 'flower.mp4', async (path) => {
  const { r, durationSec, outDir } = await extract(path);
  await assertWellFormed(r, durationSec, 12, outDir);
  assert.ok(r.decodedKeyframes >= 2);
  assert.is(r.frames[0]!.timestampSec, 0);
  assert.is(r.frames[0]!.source, 'keyframe');
  assert.ok(Math.abs(r.dataEndSec - durationSec) < 0.2, `data ends at ${r.dataEndSec}`);
  console.log(`  flower.mp4: ${r.frames.length} frames (${r.decodedKeyframes} keyframes, ${r.sampledFrames} samples, ${r.droppedDuplicates} duplicates) in ${r.durationMs} ms`);
});

sampleTest('friday.mp4 (audio is stream 0): keyframes from the video stream', 'friday.mp4', async (path) => {
  const { r, durationSec, outDir } = await extract(path);
  await assertWellFormed(r, durationSec, 12, outDir);
  assert.is(r.decodedKeyframes, 6);
  assert.is(r.frames[0]!.width, 640);
});

sampleTest('rotate-buck-bunny.mp4: 1080p rotated → portrait frames, long side 1120', 'rotate-buck-bunny.mp4', async (path) => {
  const { r, durationSec, outDir } = await extract(path);
  await assertWellFormed(r, durationSec, 12, outDir);
  for (const f of r.frames) {
    assert.ok(f.height > f.width, `portrait: ${f.width}×${f.height}`);
    assert.is(f.height, 1120);
  }
});

sampleTest('vp9-counter-frames.webm: only real keyframes count, look-alike samples are dropped', 'vp9-counter-frames.webm', async (path) => {
  const { r, durationSec, outDir } = await extract(path);
  await assertWellFormed(r, durationSec, 12, outDir);
  // ffmpeg's VP9 decoder ignores -skip_frame nokey and outputs all 100 frames; the key-frame filter keeps the one
  // real keyframe (the file's only K-flagged packet), sampling adds more, and dHash drops the look-alikes.
  assert.is(r.decodedKeyframes, 1);
  assert.ok(r.sampledFrames > 0);
  assert.ok(r.droppedDuplicates > 0, 'duplicates were dropped');
  assert.ok(r.frames.length < 1 + r.sampledFrames);
});

test('VP9 with a keyframe every 10 frames: exactly the keyframes are decoded', async () => {
  const file = fx.path('gop10.webm');
  ffmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=320x240:rate=25', '-t', '2', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '10', '-keyint_min', '10', file]);
  const keyPackets = ffprobe(['-select_streams', 'v', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file]).stdout.split('\n').filter((l) => l.startsWith('K')).length;
  const { r, durationSec, outDir } = await extract(file);
  await assertWellFormed(r, durationSec, 12, outDir);
  assert.is(r.decodedKeyframes, keyPackets);
});

sampleTest('stream-of-water.webm (1 keyframe): one pass takes the keyframe and the samples', 'stream-of-water.webm', async (path) => {
  const { r, durationSec, outDir } = await extract(path);
  await assertWellFormed(r, durationSec, 12, outDir);
  assert.is(r.plan, 'single-pass');
  assert.is(r.passes, 1, 'no second ffmpeg run');
  assert.is(r.decodedKeyframes, 1);
  assert.ok(r.sampledFrames >= 3, `sampled ${r.sampledFrames}`);
  assert.is(r.sampling, 'inline');
});

sampleTest('friday.mp4 (6 keyframes in 6 s): key frames only, one pass', 'friday.mp4', async (path) => {
  const { r } = await extract(path);
  assert.is(r.plan, 'keyframes');
  assert.is(r.passes, 1);
  assert.is(r.sampledFrames, 0);
  assert.ok(r.frames.every((f) => f.source === 'keyframe'));
});

sampleTest('truncated-flower.mp4 → corrupt_video from the keyframe pass itself', 'truncated-flower.mp4', async (path) => {
  try {
    await extract(path);
    assert.unreachable('truncated file was accepted');
  } catch (err) {
    assert.instance(err, BadVideoError);
    assert.is((err as BadVideoError).code, 'corrupt_video');
  }
});

test('a still image clip with many keyframes yields one frame', async () => {
  const { r, durationSec, outDir } = await extract(stillClip(fx.path('still.mp4'), 4, 10));
  await assertWellFormed(r, durationSec, 12, outDir);
  assert.ok(r.decodedKeyframes >= 8, `decoded ${r.decodedKeyframes}`);
  assert.is(r.frames.length, 1);
  assert.is(r.droppedDuplicates, r.decodedKeyframes - 1);
});

test('the cap is respected and keeps frames spread over the video', async () => {
  const file = manyKeyframes(fx.path('many.mp4'), 4, 5);
  const { r, durationSec, outDir } = await extract(file, { maxKeyframes: 3 });
  await assertWellFormed(r, durationSec, 3, outDir);
  assert.is(r.frames.length, 3);
  assert.ok(r.droppedOverCap > 0, `over cap ${r.droppedOverCap}`);
  assert.ok(r.frames[2]!.timestampSec - r.frames[0]!.timestampSec > durationSec / 2, 'first and last far apart');
});

test('one-keyframe clip with three scenes: sampling finds the scenes', async () => {
  const file = oneKeyframeScenes(fx.path('scenes.mp4'), 3, 1.5);
  const { r, durationSec, outDir } = await extract(file, { maxKeyframes: 6 });
  await assertWellFormed(r, durationSec, 6, outDir);
  assert.is(r.plan, 'single-pass');
  assert.is(r.passes, 1);
  assert.is(r.decodedKeyframes, 1);
  // The scene changes themselves are taken (first frame of each scene, 0.04 s per frame at 25 fps), not only samples.
  for (const cut of [1.5, 3]) assert.ok(r.frames.some((f) => f.timestampSec >= cut - 1e-3 && f.timestampSec < cut + 0.05), `a frame at the cut ${cut} s: ${r.frames.map((f) => f.timestampSec).join(', ')}`);
  assert.ok(r.frames.length >= 3, `expected ≥ 3 distinct frames, got ${r.frames.length}`);
  const scenes = new Set(r.frames.map((f) => Math.floor(f.timestampSec / 1.5)));
  assert.is(scenes.size, 3, `frames from every scene: ${r.frames.map((f) => f.timestampSec).join(', ')}`);
});

test('a clip longer than the probe scan with one keyframe: key-frame pass, then a sampling pass', async () => {
  const file = oneKeyframeScenes(fx.path('long-scenes.mp4'), 3, 7.5);
  const { r, durationSec, outDir } = await extract(file, { maxKeyframes: 8 });
  assert.ok(durationSec > KEYFRAME_SCAN_SEC, `${durationSec} s is longer than the scan`);
  await assertWellFormed(r, durationSec, 8, outDir);
  assert.is(r.plan, 'keyframes');
  assert.is(r.decodedKeyframes, 1);
  assert.ok(r.passes >= 2, `passes ${r.passes}`);
  assert.ok(r.sampling === 'seek' || r.sampling === 'scan');
  const scenes = new Set(r.frames.map((f) => Math.floor(f.timestampSec / 7.5)));
  assert.is(scenes.size, 3, `frames from every scene: ${r.frames.map((f) => f.timestampSec).join(', ')}`);
});

test('a clip cut at a packet boundary → corrupt_video (data ends early)', async () => {
  const clip = await makeClip(fx.path('cut.mp4'), { seconds: 6, audio: false });
  const cut = await truncateCopy(clip, fx.path('cut-short.mp4'), packetBoundaryOffset(clip, 0.5));
  try {
    await extract(cut);
    assert.unreachable('cut file was accepted');
  } catch (err) {
    assert.instance(err, BadVideoError);
    assert.match((err as BadVideoError).message, /looks truncated/);
  }
});

test('an aborted extraction kills ffmpeg and rejects with the abort', async () => {
  const file = manyKeyframes(fx.path('abort.mp4'), 4, 5);
  const ac = new AbortController();
  ac.abort(new Error('job timeout'));
  try {
    await extract(file, { signal: ac.signal });
    assert.unreachable('aborted extraction resolved');
  } catch (err) {
    assert.match(String((err as Error).message), /aborted: job timeout/);
  }
  assert.is(activeToolCount(), 0);
});

test.run();
