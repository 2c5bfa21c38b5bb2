/**
 * Proof that a video that probed fine really decodes to the end.
 *
 * ffprobe reads only headers: a truncated MP4 whose moov atom is at the start probes as complete, and plain
 * `ffmpeg … -f null -` even exits 0 on it (reference/video-keyframes.md §5, *measured* on truncated-flower.mp4).
 * So every decode of an upload runs with `-xerror` (the first corrupt packet or decode error ends ffmpeg with a
 * non-zero code), and a second output stream-copies every video and audio packet to the null muxer: copying
 * costs no decoding but makes ffmpeg read the file to its end, and its `-progress` `out_time_us` says where the
 * data really ends. A file cut exactly at a packet boundary raises no error, but its data ends early: caught by
 * {@link assertComplete}.
 *
 * {@link ./keyframes.ts} builds the same two outputs into its keyframe pass (one decode, not two);
 * {@link checkDecodes} is the stand-alone form, decoding key frames only (`-skip_frame nokey`).
 */
import { BadVideoError } from './bad-video-error.ts';
import { FfmpegOutput } from './ffmpeg-output.ts';
import { SAFE_INPUT_ARGS, type VideoProbe } from './probe.ts';
import { runTool, ToolExitError } from './process.ts';

/** Data may end this much before the probed duration, seconds, or this fraction of it, whichever is larger. */
export const END_TOLERANCE_SEC = 1;
/** See {@link END_TOLERANCE_SEC}. */
export const END_TOLERANCE_FRACTION = 0.1;

/** Global options of every checked decode: level-tagged log lines (for parsing), exit on the first error. */
export const CHECKED_DECODE_GLOBAL_ARGS: readonly string[] = ['-nostats', '-loglevel', 'level+info', '-xerror', '-progress', 'pipe:1'];

/** Input options of a keyframe-only checked decode of `path` (safe demuxing + `-skip_frame nokey`). */
export function keyframeInputArgs(path: string): string[] {
  return [...SAFE_INPUT_ARGS, '-skip_frame', 'nokey', '-i', `file:${path}`];
}

/** The second output: stream-copy the video (and any audio) packets to the null muxer, to read the file to its end. */
export function readToEndOutputArgs(probe: VideoProbe): string[] {
  return ['-map', `0:${probe.videoStreamIndex}`, '-map', '0:a?', '-c', 'copy', '-f', 'null', '-'];
}

/**
 * Throws when the packets read end well before the probed duration (a file cut at a packet boundary).
 * @param lastOutTimeUs the largest `out_time_us` of `-progress`, microseconds; `undefined` → nothing was read.
 * @throws BadVideoError `corrupt_video`.
 */
export function assertComplete(lastOutTimeUs: number | undefined, probe: VideoProbe): void {
  const endSec = lastOutTimeUs === undefined ? 0 : lastOutTimeUs / 1e6;
  const tolerance = Math.max(END_TOLERANCE_SEC, END_TOLERANCE_FRACTION * probe.durationSec);
  if (endSec + tolerance < probe.durationSec) {
    throw new BadVideoError(
      'corrupt_video',
      `video data ends at ${endSec.toFixed(3)} s but the file claims ${probe.durationSec.toFixed(3)} s: the upload looks truncated`,
      { dataEndSec: endSec, durationSec: probe.durationSec },
    );
  }
}

/**
 * Turns a failed checked decode into a `corrupt_video` error naming ffmpeg's own error lines.
 * Non-exit failures (timeout, abort, missing binary) are returned unchanged.
 */
export function decodeFailure(err: unknown, out: FfmpegOutput): unknown {
  if (!(err instanceof ToolExitError)) return err;
  return new BadVideoError('corrupt_video', `video could not be decoded: ${out.errorSummary(err.message)}`, undefined, { cause: err });
}

/**
 * Runs one ffmpeg decode whose output `out` parses (showinfo frames, progress, error lines).
 * @returns ffmpeg's wall-clock time, ms.
 * @throws BadVideoError `corrupt_video` when ffmpeg exits non-zero ({@link decodeFailure});
 *   ToolTimeoutError / ToolAbortedError / ToolMissingError unchanged.
 */
export async function runDecode(args: string[], out: FfmpegOutput, o: { timeoutMs: number; signal?: AbortSignal }): Promise<number> {
  try {
    const { durationMs } = await runTool('ffmpeg', args, {
      timeoutMs: o.timeoutMs,
      onStderrLine: out.onStderrLine,
      onStdoutLine: out.onStdoutLine,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return durationMs;
  } catch (err) {
    throw decodeFailure(err, out);
  }
}

/** What a stand-alone decode check found. */
export interface DecodeCheck {
  /** Key frames decoded. */
  keyframes: number;
  /** Where the data ends, seconds from the start. */
  dataEndSec: number;
  /** Wall-clock time, ms. */
  durationMs: number;
}

/**
 * Decodes the key frames of `path` with `-xerror` and reads every packet to the end.
 * @throws BadVideoError `corrupt_video` when a packet is corrupt, a key frame does not decode, no key frame
 *   decodes at all, or the data ends early.
 * @throws ToolTimeoutError / ToolAbortedError / ToolMissingError.
 */
export async function checkDecodes(path: string, probe: VideoProbe, o: { timeoutMs: number; signal?: AbortSignal }): Promise<DecodeCheck> {
  const out = new FfmpegOutput();
  const args = [
    ...CHECKED_DECODE_GLOBAL_ARGS,
    ...keyframeInputArgs(path),
    '-map', `0:${probe.videoStreamIndex}`, '-vf', 'showinfo', '-f', 'null', '-',
    ...readToEndOutputArgs(probe),
  ];
  const durationMs = await runDecode(args, out, o);
  if (out.frames.length === 0) throw new BadVideoError('corrupt_video', 'video has no decodable key frame');
  assertComplete(out.lastOutTimeUs, probe);
  return { keyframes: out.frames.length, dataEndSec: (out.lastOutTimeUs ?? 0) / 1e6, durationMs };
}
