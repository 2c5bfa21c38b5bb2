/**
 * The pure rules of keyframe selection and the dHash they rely on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { chooseSampling, evenlySpacedIndexes, planExtraction, sampleCount, sampleTimes, seekDecodeSec, selectFrames } from '../../services/media/keyframe-selection.ts';
import { dHash, hammingDistance, hashToHex } from '../../services/media/perceptual-hash.ts';

/** A 320×240 JPEG: horizontal gradient, optionally mirrored, with a little noise of amplitude `noise`. */
async function gradient(mirror: boolean, noise = 0, seed = 1): Promise<Buffer> {
  const w = 320;
  const h = 240;
  const px = Buffer.alloc(w * h * 3);
  let s = seed;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const base = Math.round(((mirror ? w - 1 - x : x) / (w - 1)) * 200) + ((y >> 5) % 2) * 30;
      const v = Math.max(0, Math.min(255, base + (noise ? (s % (2 * noise + 1)) - noise : 0)));
      px.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

test('dHash: same picture with noise is near, a different picture is far', async () => {
  const a = await dHash(await gradient(false));
  const aNoisy = await dHash(await gradient(false, 6, 7));
  const b = await dHash(await gradient(true));
  assert.ok(hammingDistance(a, aNoisy) <= 10, `noisy copy distance ${hammingDistance(a, aNoisy)}`);
  assert.ok(hammingDistance(a, b) > 30, `mirror distance ${hammingDistance(a, b)}`);
  assert.is(hashToHex(a).length, 16);
});

test('hammingDistance counts differing bits of 64', () => {
  assert.is(hammingDistance(0n, 0n), 0);
  assert.is(hammingDistance(0n, 0xffffffffffffffffn), 64);
  assert.is(hammingDistance(0b1011n, 0b0010n), 2);
});

test('selectFrames drops look-alikes of the last kept frame, then caps evenly', () => {
  const f = (t: number, hash: bigint) => ({ timestampSec: t, hash });
  const A = 0n;
  const A2 = 0b111n; // 3 bits from A
  const B = 0xffff_ffff_0000_0000n; // 32 bits from A
  const C = 0x0000_0000_ffff_ffffn; // 32 bits from A, 64 from B
  const sel = selectFrames([f(2, B), f(0, A), f(1, A2), f(3, B), f(4, C)], 10, 10);
  assert.equal(sel.kept.map((k) => k.timestampSec), [0, 2, 4]);
  assert.equal(sel.duplicates.map((k) => k.timestampSec), [1, 3]);
  const capped = selectFrames([f(0, A), f(1, B), f(2, C), f(3, B), f(4, C)], 2, 10);
  assert.equal(capped.kept.map((k) => k.timestampSec), [0, 4]);
  assert.is(capped.overCap.length, 3);
});

test('evenlySpacedIndexes includes both ends and never repeats', () => {
  assert.equal(evenlySpacedIndexes(10, 3), [0, 5, 9]);
  assert.equal(evenlySpacedIndexes(3, 5), [0, 1, 2]);
  assert.equal(evenlySpacedIndexes(5, 1), [0]);
  for (let n = 1; n < 40; n++) for (let k = 1; k <= n; k++) assert.is(new Set(evenlySpacedIndexes(n, k)).size, k);
});

test('sampleTimes centres samples in equal slices and respects the minimum spacing', () => {
  assert.equal(sampleTimes(4, 4), [0.5, 1.5, 2.5, 3.5]);
  assert.is(sampleTimes(1, 12).length, 4); // 0.25 s spacing → at most 4 in 1 s
});

test('sampling by seeks only when seeks decode less than one full pass', () => {
  // Keyframes every 2 s over 10 s: each seek decodes at most 2 s → 5 seeks ≈ 5 s < 10 s.
  assert.is(chooseSampling([1, 3, 5, 7, 9], [0, 2, 4, 6, 8], 10), 'seek');
  assert.is(seekDecodeSec([1, 3, 5, 7, 9], [0, 2, 4, 6, 8]), 5);
  // One keyframe at 0: seeks decode 1+3+5+7+9 = 25 s > 10 s → one scan.
  assert.is(chooseSampling([1, 3, 5, 7, 9], [0], 10), 'scan');
});

test('planExtraction: one pass only for a wholly scanned clip short of key frames', () => {
  assert.is(planExtraction(3.1, { count: 1, scannedSec: 3.1 }, 3), 'single-pass');
  assert.is(planExtraction(5.1, { count: 2, scannedSec: 5.1 }, 3), 'single-pass');
  assert.is(planExtraction(6.2, { count: 6, scannedSec: 6.2 }, 3), 'keyframes', 'enough key frames');
  assert.is(planExtraction(6.2, { count: 3, scannedSec: 6.2 }, 3), 'keyframes', 'exactly enough');
  assert.is(planExtraction(60, { count: 1, scannedSec: 20 }, 3), 'keyframes', 'the rest of a long video is unknown');
  assert.is(planExtraction(2, { count: 1, scannedSec: 2 }, 1), 'keyframes', 'one frame asked for, one key frame found');
});

test('sampleCount: about one per spacing, at least the minimum, at most the cap', () => {
  assert.is(sampleCount(5.05, 12, 3, 1), 6);
  assert.is(sampleCount(2, 12, 3, 1), 3);
  assert.is(sampleCount(60, 12, 3, 1), 12);
  assert.is(sampleCount(0.4, 12, 3, 1), 3);
  assert.is(sampleCount(10, 2, 2, 1), 2);
});

test.run();
