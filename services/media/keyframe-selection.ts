/**
 * Pure decisions of keyframe extraction: which plan to run (one decoding pass with samples, or key frames only),
 * which candidate frames to keep (near-duplicate drop, then a cap), where to sample when the video has too few
 * keyframes, and how to sample (input seeks or one decoding pass).
 * No I/O here, so every rule is testable with plain numbers.
 */
import { hammingDistance } from './perceptual-hash.ts';

/** A candidate frame: when it is in the video and its perceptual hash. */
export interface Candidate {
  /** Presentation time, seconds from the start of the video. */
  timestampSec: number;
  /** 64-bit dHash ({@link ./perceptual-hash.ts}). */
  hash: bigint;
}

/** What {@link selectFrames} kept and dropped. */
export interface Selection<T extends Candidate> {
  kept: T[];
  /** Dropped because they looked like the previous kept frame. */
  duplicates: T[];
  /** Dropped by the cap (distinct, but more than `max`). */
  overCap: T[];
}

/**
 * Sorts by time, drops every frame whose hash is within `maxDistance` bits of the last kept frame (so a still
 * shot yields one frame and each cut starts a new one), then keeps at most `max` frames spread evenly over the
 * survivors (first and last always kept when `max` ≥ 2).
 * @param maxDistance Hamming distance (bits) at or below which two frames count as the same; reference
 *   /video-keyframes.md §4 measured 0–10 within a shot and 16–30 across cuts.
 */
export function selectFrames<T extends Candidate>(candidates: readonly T[], max: number, maxDistance: number): Selection<T> {
  const sorted = [...candidates].sort((a, b) => a.timestampSec - b.timestampSec);
  const distinct: T[] = [];
  const duplicates: T[] = [];
  for (const c of sorted) {
    const last = distinct[distinct.length - 1];
    if (last && hammingDistance(last.hash, c.hash) <= maxDistance) duplicates.push(c);
    else distinct.push(c);
  }
  if (distinct.length <= max) return { kept: distinct, duplicates, overCap: [] };
  const picks = new Set(evenlySpacedIndexes(distinct.length, max));
  return {
    kept: distinct.filter((_, i) => picks.has(i)),
    duplicates,
    overCap: distinct.filter((_, i) => !picks.has(i)),
  };
}

/** `k` distinct indexes in 0..n-1 spread evenly (including 0 and n-1 when k ≥ 2), ascending. */
export function evenlySpacedIndexes(n: number, k: number): number[] {
  if (k <= 0 || n <= 0) return [];
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  if (k === 1) return [0];
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(Math.round((i * (n - 1)) / (k - 1)));
  return out;
}

/** How {@link ./keyframes.ts} extracts: see {@link planExtraction}. */
export type ExtractionPlan = 'single-pass' | 'keyframes';

/**
 * `single-pass` when the probe scanned the whole video and found fewer key packets than `minKeyframes`: a
 * key-frame-only pass would not find enough frames and a second, sampling pass would follow (on the 2–6 s samples
 * that made extraction 0.5–1.4× a naive full decode, about 200 ms of each pass being ffmpeg's start-up alone), so
 * one pass decodes the reference frames and takes key frames, scene changes and time samples together.
 * `keyframes` otherwise: enough key frames (a key-frame-only decode is far cheaper than decoding every frame,
 * reference/video-keyframes.md §1), or a video longer than the probe's scan, whose key frames are not all known.
 * @param keyPackets what the probe counted ({@link ./probe.ts VideoProbe.keyPackets}).
 */
export function planExtraction(durationSec: number, keyPackets: { count: number; scannedSec: number }, minKeyframes: number): ExtractionPlan {
  const wholeVideoScanned = keyPackets.scannedSec >= durationSec;
  return wholeVideoScanned && keyPackets.count < minKeyframes ? 'single-pass' : 'keyframes';
}

/**
 * How many time samples a video gets: about one per `spacingSec` seconds, at least `minKeyframes`, at most `max`
 * (more would mostly be dropped as duplicates after paying for JPEG encoding and hashing).
 */
export function sampleCount(durationSec: number, max: number, minKeyframes: number, spacingSec: number): number {
  return Math.min(max, Math.max(minKeyframes, Math.ceil(durationSec / spacingSec)));
}

/**
 * Times to sample when keyframes are too few: `count` points at the centres of equal slices of the video
 * ((i + 0.5) × duration / count), never closer than `minSpacingSec` to each other.
 */
export function sampleTimes(durationSec: number, count: number, minSpacingSec = 0.25): number[] {
  const n = Math.max(0, Math.min(count, Math.floor(durationSec / minSpacingSec)));
  return Array.from({ length: n }, (_, i) => round3(((i + 0.5) * durationSec) / n));
}

/**
 * Seconds of video ffmpeg must decode to sample `times` with one input seek each: an accurate seek starts at the
 * keyframe before the target and decodes forward (reference §2), so each costs (target − previous keyframe).
 * @param keyframeTimes known keyframe times, seconds (any order); none known means "from 0".
 */
export function seekDecodeSec(times: readonly number[], keyframeTimes: readonly number[]): number {
  const keys = [...keyframeTimes].sort((a, b) => a - b);
  let total = 0;
  for (const t of times) {
    let prev = 0;
    for (const k of keys) if (k <= t) prev = k;
    total += t - prev;
  }
  return total;
}

/**
 * How to sample: `seek` (one short ffmpeg run per time) when the seeks decode less than one pass over the whole
 * video would, else `scan` (one run decoding every frame and picking frames at a fixed spacing).
 */
export function chooseSampling(times: readonly number[], keyframeTimes: readonly number[], durationSec: number): 'seek' | 'scan' {
  return seekDecodeSec(times, keyframeTimes) <= durationSec ? 'seek' : 'scan';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
