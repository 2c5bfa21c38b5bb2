/**
 * Keyframe extraction: a handful of representative, distinct JPEG frames with their times in the video.
 *
 * The plan is chosen before anything decodes ({@link planExtraction}), from the key packets the probe counted:
 * - `single-pass`, for a video the probe scanned whole that has fewer key frames than needed (the 2–6 s samples
 *   here: 1–2 key frames each): one ffmpeg run decodes the reference frames (`-skip_frame noref`: nothing depends
 *   on a non-reference frame, so skipping them is exact; 10–20 % less CPU on the H.264 samples, *measured*) and
 *   its `select` takes, at least the spacing gap apart, every key frame, every scene change (`scene` > 0.3, the
 *   common threshold of reference §2) and a time sample whenever the sample spacing has passed since the last
 *   frame taken. Same scale, showinfo and decode check as below. No second pass, no second ffmpeg start-up.
 * - `keyframes`, otherwise:
 * 1. One ffmpeg pass decodes key frames only (`-skip_frame nokey`: ~145× real time on 1080p, against ~5× for any
 *    filter that decodes every frame; reference/video-keyframes.md §1–2). A `select` on the time since the last
 *    selected frame bounds the output for all-intra files (the VP9 sample has 100 keyframes in 3.3 s); `scale`
 *    fits the longest side into 1120 px (the Llama 3.2 Vision image limit); `showinfo` reports each frame's time.
 *    The same run is the decode check ({@link ./decode-check.ts}): `-xerror` plus a stream-copy output that reads
 *    the file to its end, so a truncated upload fails here without a second decode.
 * 2. Too few frames (a video longer than the probe's scan with sparse key frames; after the single pass only when
 *    the clip is too short for enough samples): sample about once a second, by input seeks when they decode less
 *    than a whole pass would, else by one pass picking frames at a fixed spacing ({@link chooseSampling}).
 * 3. Near-duplicates are dropped by 64-bit dHash (Hamming distance ≤ 10), then the count is capped.
 *
 * `-fps_mode passthrough` (the `-vsync 0` of reference §2) keeps exactly one file per filtered frame, so the n-th
 * showinfo line belongs to the n-th file; `vfr` could drop a frame whose timestamp repeats and break that pairing.
 * ffmpeg auto-rotates by the display matrix before our filters, so sizes are display sizes.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { BadVideoError } from './bad-video-error.ts';
import { assertComplete, CHECKED_DECODE_GLOBAL_ARGS, keyframeInputArgs, readToEndOutputArgs, runDecode } from './decode-check.ts';
import { FfmpegOutput } from './ffmpeg-output.ts';
import { chooseSampling, planExtraction, sampleCount, sampleTimes, selectFrames, type ExtractionPlan } from './keyframe-selection.ts';
import { dHash, NEAR_DUPLICATE_MAX_DISTANCE } from './perceptual-hash.ts';
import { SAFE_INPUT_ARGS, type VideoProbe } from './probe.ts';

/** Longest side of an extracted frame, px: Llama 3.2 Vision's image limit (reference/azure-ai-inference.md). */
export const MAX_FRAME_SIDE_PX = 1120;
/** Target spacing of fallback samples, seconds. */
export const SAMPLE_SPACING_SEC = 1;
/** JPEG quality of extracted frames on ffmpeg's mjpeg `-q:v` scale (2 best … 31 worst). */
export const JPEG_QSCALE = 3;

/** Options of {@link extractKeyframes}. */
export interface KeyframeOptions {
  /** Directory for the JPEG files (created by the caller, e.g. the job's temp dir). */
  outDir: string;
  /** At most this many frames are returned (KEYFRAMES_MAX or the analysis option). */
  maxKeyframes: number;
  /** Fewer decoded keyframes than this triggers sampling. @defaultValue min(3, maxKeyframes) */
  minKeyframes?: number;
  /** Longest side of a frame, px. @defaultValue {@link MAX_FRAME_SIDE_PX} */
  maxSidePx?: number;
  /** Hamming distance (bits) at or below which frames count as duplicates. @defaultValue 10 */
  duplicateMaxDistance?: number;
  /** Wall-clock limit of each ffmpeg run, ms. */
  timeoutMs: number;
  /** Aborts every ffmpeg run (job timeout, shutdown). */
  signal?: AbortSignal;
  /** Parallel seek runs when sampling. @defaultValue 2 */
  seekConcurrency?: number;
}

/** One extracted frame on disk. */
export interface ExtractedFrame {
  /** Position in the returned list, from 0, in time order. */
  index: number;
  /** Presentation time, seconds from the start of the video. */
  timestampSec: number;
  /** Absolute path of the JPEG. */
  path: string;
  /** JPEG size, px (display orientation). */
  width: number;
  height: number;
  /** JPEG size, bytes. */
  bytes: number;
  /** 64-bit dHash. */
  hash: bigint;
  /** `keyframe` for a frame the decoder flagged key, `sample` for a time sample or scene change. */
  source: 'keyframe' | 'sample';
}

/** The outcome of {@link extractKeyframes}, with the numbers behind it. */
export interface KeyframeExtraction {
  frames: ExtractedFrame[];
  /** The plan that ran ({@link planExtraction}). */
  plan: ExtractionPlan;
  /** ffmpeg runs (1 unless a fallback sampling pass had to follow). */
  passes: number;
  /** Key frames the first pass wrote (after its spacing filter). */
  decodedKeyframes: number;
  /** Non-key frames taken: samples and scene changes of the single pass, plus fallback samples. */
  sampledFrames: number;
  /** How sampling ran, when it did: `inline` in the single pass, `seek` or `scan` as a fallback pass. */
  sampling?: 'inline' | 'seek' | 'scan';
  /** Frames dropped as near-duplicates. */
  droppedDuplicates: number;
  /** Distinct frames dropped by the cap. */
  droppedOverCap: number;
  /** Where the video data ends, seconds (decode check). */
  dataEndSec: number;
  /** Wall-clock time of the whole extraction, ms. */
  durationMs: number;
}

type Raw = Omit<ExtractedFrame, 'index' | 'hash' | 'width' | 'height' | 'bytes'>;

/** `scale` that fits the longest side into `maxSide` px, never upscales, keeps the aspect ratio. */
export function fitScaleFilter(maxSide: number): string {
  return `scale=w='min(${maxSide},iw)':h='min(${maxSide},ih)':force_original_aspect_ratio=decrease:force_divisible_by=2`;
}

/**
 * `select` that passes a frame only when `gapSec` seconds have passed since the last frame it passed; with
 * `fromSec`, the first frame passed is the first at or after `fromSec` seconds; with `keyOnly`, only key frames
 * pass. `keyOnly` matters because `-skip_frame nokey` is a request the decoder may ignore: ffmpeg 5.1's VP9 and
 * AV1 (libdav1d) decoders output every frame (*measured*: 100 frames out of a 4-keyframe VP9 clip), so the filter
 * keeps the result honest (the cost of such a decode stays that of a full decode).
 */
export function spacingSelectFilter(gapSec: number, o: { fromSec?: number; keyOnly?: boolean } = {}): string {
  const gap = gapSec.toFixed(4);
  const first = o.fromSec === undefined ? '1' : `gte(t,${o.fromSec.toFixed(4)})`;
  const spaced = `if(isnan(prev_selected_t),${first},gte(t-prev_selected_t,${gap}))`;
  return `select='${o.keyOnly ? `key*${spaced}` : spaced}'`;
}

/** Scene-change score (0–1) above which the single pass takes a frame (reference/video-keyframes.md §2: 0.3–0.4). */
export const SCENE_CHANGE_THRESHOLD = 0.3;

/**
 * `select` of the single pass: the first frame, then any frame at least `minGapSec` after the last one taken that
 * is a key frame, a scene change (score > `sceneThreshold`) or `sampleGapSec` after the last one taken.
 */
export function singlePassSelectFilter(minGapSec: number, sampleGapSec: number, sceneThreshold = SCENE_CHANGE_THRESHOLD): string {
  const since = 't-prev_selected_t';
  const wanted = `gt(key+gt(scene,${sceneThreshold.toFixed(3)})+gte(${since},${sampleGapSec.toFixed(4)}),0)`;
  return `select='if(isnan(prev_selected_t),1,gte(${since},${minGapSec.toFixed(4)})*${wanted})'`;
}

/**
 * Extracts up to `maxKeyframes` distinct frames of a probed video.
 * @throws BadVideoError `corrupt_video` when decoding fails (`-xerror`), no frame decodes or the data ends early.
 * @throws ToolTimeoutError / ToolAbortedError / ToolMissingError from the ffmpeg runs.
 */
export async function extractKeyframes(path: string, probe: VideoProbe, o: KeyframeOptions): Promise<KeyframeExtraction> {
  const started = Date.now();
  const max = Math.max(1, Math.floor(o.maxKeyframes));
  const minKeyframes = o.minKeyframes ?? Math.min(3, max);
  const maxSide = o.maxSidePx ?? MAX_FRAME_SIDE_PX;
  const maxDistance = o.duplicateMaxDistance ?? NEAR_DUPLICATE_MAX_DISTANCE;
  // Frames taken at least this far apart, so that at most ~4× the cap are written whatever the file holds.
  const gapSec = probe.durationSec / (max * 4);
  const plan = planExtraction(probe.durationSec, probe.keyPackets, minKeyframes);

  // Pass 1: the single pass (key frames, scene changes and time samples), or key frames only; both check the decode.
  const sampleGapSec = probe.durationSec / sampleCount(probe.durationSec, max, minKeyframes, SAMPLE_SPACING_SEC);
  const first = plan === 'single-pass'
    ? await decodePass(path, probe, o, maxSide, ['-skip_frame', 'noref'], singlePassSelectFilter(gapSec, Math.max(gapSec, sampleGapSec)))
    : await decodePass(path, probe, o, maxSide, ['-skip_frame', 'nokey'], spacingSelectFilter(gapSec, { keyOnly: true }));
  const { frames: decoded, dataEndSec } = first;
  if (decoded.length === 0) throw new BadVideoError('corrupt_video', 'video has no decodable key frame');
  let passes = 1;

  // Pass 2 (only when pass 1 still found too few frames): fixed-time samples.
  let samples: Raw[] = [];
  let sampling: KeyframeExtraction['sampling'] = decoded.some((f) => f.source === 'sample') ? 'inline' : undefined;
  if (decoded.length < minKeyframes) {
    const count = sampleCount(probe.durationSec, max, minKeyframes, SAMPLE_SPACING_SEC);
    const times = sampleTimes(probe.durationSec, count).filter((t) => decoded.every((k) => Math.abs(k.timestampSec - t) >= gapSec / 2));
    if (times.length) {
      const how = chooseSampling(times, decoded.filter((f) => f.source === 'keyframe').map((k) => k.timestampSec), probe.durationSec);
      samples = how === 'seek' ? await seekSamples(path, probe, times, o, maxSide) : await scanSamples(path, probe, times, o, maxSide);
      sampling = how;
      passes += how === 'seek' ? times.length : 1;
    }
  }

  // Hash, dedupe, cap.
  const described = await Promise.all([...decoded, ...samples].map(describe));
  const sel = selectFrames(described, max, maxDistance);
  await Promise.all([...sel.duplicates, ...sel.overCap].map((f) => rm(f.path, { force: true })));
  const decodedKeyframes = decoded.filter((f) => f.source === 'keyframe').length;
  return {
    frames: sel.kept.map((f, index) => ({ ...f, index })),
    plan,
    passes,
    decodedKeyframes,
    sampledFrames: decoded.length - decodedKeyframes + samples.length,
    ...(sampling ? { sampling } : {}),
    droppedDuplicates: sel.duplicates.length,
    droppedOverCap: sel.overCap.length,
    dataEndSec,
    durationMs: Date.now() - started,
  };
}

async function describe(r: Raw): Promise<Omit<ExtractedFrame, 'index'>> {
  const [meta, st, hash] = await Promise.all([sharp(r.path).metadata(), stat(r.path), dHash(r.path)]);
  return { ...r, width: meta.width ?? 0, height: meta.height ?? 0, bytes: st.size, hash };
}

function clampTime(t: number, probe: VideoProbe): number {
  return Math.round(Math.min(Math.max(t, 0), probe.durationSec) * 1000) / 1000;
}

/** Files in `dir` starting with `prefix`, sorted by name (zero-padded numbers sort in frame order). */
async function framesOnDisk(dir: string, prefix: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.jpg')).sort().map((n) => join(dir, n));
}

/**
 * One checked decode writing the frames `select` passes. `decoderArgs` are the input's decoder options: `-skip_frame
 * nokey` (key frames only) or `-skip_frame noref` (the single pass). A frame is a key frame by the decoder's flag
 * (showinfo `iskey`); with `nokey` every frame is one.
 */
async function decodePass(
  path: string,
  probe: VideoProbe,
  o: KeyframeOptions,
  maxSide: number,
  decoderArgs: ['-skip_frame', 'nokey' | 'noref'],
  select: string,
): Promise<{ frames: Raw[]; dataEndSec: number }> {
  const out = new FfmpegOutput();
  const keyOnly = decoderArgs[1] === 'nokey';
  const args = [
    ...CHECKED_DECODE_GLOBAL_ARGS,
    ...(keyOnly ? keyframeInputArgs(path) : [...SAFE_INPUT_ARGS, ...decoderArgs, '-i', `file:${path}`]),
    '-map', `0:${probe.videoStreamIndex}`,
    '-fps_mode', 'passthrough',
    '-vf', `${select},${fitScaleFilter(maxSide)},showinfo`,
    '-q:v', String(JPEG_QSCALE),
    '-f', 'image2', join(o.outDir, 'kf-%05d.jpg'),
    ...readToEndOutputArgs(probe),
  ];
  await runDecode(args, out, o);
  assertComplete(out.lastOutTimeUs, probe);
  const files = await framesOnDisk(o.outDir, 'kf-');
  if (files.length !== out.frames.length) {
    throw new Error(`keyframe pass: ffmpeg wrote ${files.length} files but reported ${out.frames.length} frames`);
  }
  return {
    frames: files.map((p, i) => {
      const f = out.frames[i]!;
      return { path: p, timestampSec: clampTime(f.ptsTime, probe), source: keyOnly || f.key ? 'keyframe' as const : 'sample' as const };
    }),
    dataEndSec: (out.lastOutTimeUs ?? 0) / 1e6,
  };
}

/** One accurate input seek per time (`-ss` before `-i`: jump to the previous keyframe, decode forward). */
async function seekSamples(path: string, probe: VideoProbe, times: number[], o: KeyframeOptions, maxSide: number): Promise<Raw[]> {
  const results: Array<Raw | undefined> = new Array(times.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < times.length; i = next++) {
      const t = times[i]!;
      const out = new FfmpegOutput();
      const file = join(o.outDir, `sample-${String(i).padStart(5, '0')}.jpg`);
      const args = [
        '-nostats', '-loglevel', 'level+info', '-xerror',
        ...SAFE_INPUT_ARGS, '-ss', t.toFixed(3), '-i', `file:${path}`,
        '-map', `0:${probe.videoStreamIndex}`, '-frames:v', '1', '-fps_mode', 'passthrough',
        '-vf', `${fitScaleFilter(maxSide)},showinfo`, '-q:v', String(JPEG_QSCALE), '-f', 'image2', '-update', '1', file,
      ];
      await runDecode(args, out, o);
      const f = out.frames[0];
      // A seek past the last frame writes nothing: that time simply yields no sample.
      if (f && (await stat(file).catch(() => undefined))) results[i] = { path: file, timestampSec: clampTime(t + f.ptsTime, probe), source: 'sample' };
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.seekConcurrency ?? 2, times.length) }, worker));
  return results.filter((r): r is Raw => r !== undefined);
}

/** One pass decoding every frame, keeping frames from the first sample time on, one per sample spacing. */
async function scanSamples(path: string, probe: VideoProbe, times: number[], o: KeyframeOptions, maxSide: number): Promise<Raw[]> {
  const out = new FfmpegOutput();
  const spacing = times.length > 1 ? (times[1]! - times[0]!) * 0.999 : probe.durationSec;
  const args = [
    '-nostats', '-loglevel', 'level+info', '-xerror',
    ...SAFE_INPUT_ARGS, '-i', `file:${path}`,
    '-map', `0:${probe.videoStreamIndex}`, '-fps_mode', 'passthrough', '-frames:v', String(times.length),
    '-vf', `${spacingSelectFilter(spacing, { fromSec: times[0] ?? 0 })},${fitScaleFilter(maxSide)},showinfo`,
    '-q:v', String(JPEG_QSCALE), '-f', 'image2', join(o.outDir, 'scan-%05d.jpg'),
  ];
  await runDecode(args, out, o);
  const files = await framesOnDisk(o.outDir, 'scan-');
  if (files.length !== out.frames.length) throw new Error(`sampling pass: ffmpeg wrote ${files.length} files but reported ${out.frames.length} frames`);
  return files.map((p, i) => ({ path: p, timestampSec: clampTime(out.frames[i]!.ptsTime, probe), source: 'sample' as const }));
}
