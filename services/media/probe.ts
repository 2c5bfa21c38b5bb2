/**
 * ffprobe validation of an uploaded file before anything decodes it.
 *
 * Safety (reference/video-keyframes.md §5–6): only the `file` protocol and only the MP4/MOV and Matroska/WebM
 * demuxers may open (a text HLS playlist renamed `.mp4` is otherwise opened as HLS and follows the local files it
 * lists, even under `-protocol_whitelist file`); probesize and analyzeduration are bounded; the run has a
 * wall-clock timeout. The video stream is looked up by type, never assumed to be stream 0 (friday.mp4 has audio
 * first); cover-art pictures (`attached_pic`) do not count as video.
 *
 * ffprobe alone passes a truncated MP4 whose moov atom is at the start: the decode check in
 * {@link ../media/keyframes.ts} (or {@link ./decode-check.ts}) catches those.
 *
 * The same run counts the key packets of the video stream in the first {@link KEYFRAME_SCAN_SEC} seconds
 * (`-read_intervals`, packet flags: demuxing only, no decoding; ~5 ms of CPU on the 5 s samples against ~160 ms
 * for the run, *measured*), so keyframe extraction can choose its plan before it decodes anything.
 */
import { open, stat } from 'node:fs/promises';
import { BadVideoError } from './bad-video-error.ts';
import { runTool, ToolExitError } from './process.ts';

/** Demuxers ffmpeg may use on uploads (`-format_whitelist`); matches MP4/MOV/3GP and Matroska/WebM. */
export const FORMAT_WHITELIST = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm';
/** `format_name` values ffprobe reports for the allowed containers. */
export const ALLOWED_CONTAINERS: readonly string[] = ['mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm'];
/** Video codecs the worker's ffmpeg decodes and the pipeline accepts. */
export const ALLOWED_CODECS: readonly string[] = ['h264', 'hevc', 'vp8', 'vp9', 'av1'];
/** Bytes ffprobe/ffmpeg may read to detect the streams (`-probesize`; ffmpeg's default is 5 MB). */
export const PROBE_SIZE_BYTES = 5_000_000;
/** Microseconds of media analysed to find stream parameters (`-analyzeduration`; default 5 s). */
export const ANALYZE_DURATION_US = 5_000_000;
/** Seconds from the start in which the probe counts key packets ({@link VideoProbe.keyPackets}). */
export const KEYFRAME_SCAN_SEC = 20;
/** Options every ffmpeg/ffprobe run on an upload must carry before `-i`. */
export const SAFE_INPUT_ARGS: readonly string[] = [
  '-protocol_whitelist', 'file',
  '-format_whitelist', FORMAT_WHITELIST,
  '-probesize', String(PROBE_SIZE_BYTES),
  '-analyzeduration', String(ANALYZE_DURATION_US),
];

/** Limits a video must satisfy. Orientation-free: a portrait 2160×3840 clip passes a 3840/2160 limit. */
export interface VideoLimits {
  /** Largest accepted file, bytes (VIDEO_MAX_BYTES). */
  maxBytes: number;
  /** Longest accepted duration, seconds (VIDEO_MAX_DURATION_SEC). */
  maxDurationSec: number;
  /** Largest accepted long side of the frame, px (VIDEO_MAX_LONG_SIDE_PX). */
  maxLongSidePx: number;
  /** Largest accepted short side of the frame, px (VIDEO_MAX_SHORT_SIDE_PX). */
  maxShortSidePx: number;
}

/** Defaults matching the runtime-config schema: 500 MiB, 180 s, 3840×2160 (4K UHD) in either orientation. */
export const DEFAULT_VIDEO_LIMITS: Readonly<VideoLimits> = {
  maxBytes: 524_288_000,
  maxDurationSec: 180,
  maxLongSidePx: 3840,
  maxShortSidePx: 2160,
};

/** A validated video: what the rest of the pipeline needs to know. */
export interface VideoProbe {
  /** ffprobe `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  container: string;
  /** Video codec name, e.g. `h264`. */
  codec: string;
  /** Absolute index of the video stream in the file (for `-map 0:<index>`). */
  videoStreamIndex: number;
  /** Coded frame size, px. */
  codedWidth: number;
  codedHeight: number;
  /** Displayed frame size after rotation metadata, px (what ffmpeg's auto-rotation produces). */
  width: number;
  height: number;
  /** Display rotation in degrees from the display matrix (e.g. -90), 0 when none. */
  rotation: number;
  /** Container duration, seconds. */
  durationSec: number;
  /** Average frame rate, frames per second (0 when unknown). */
  frameRate: number;
  /** File size, bytes. */
  bytes: number;
  hasAudio: boolean;
  /**
   * Key packets (packet flag `K`) of the video stream within the first `scannedSec` seconds: the frames a
   * key-frame-only decode finds there. `scannedSec` is min(duration, {@link KEYFRAME_SCAN_SEC}).
   */
  keyPackets: { count: number; scannedSec: number };
}

/** The part of ffprobe's JSON this module reads (`-show_entries`, see {@link probeArgs}). */
export interface FfprobeOutput {
  streams?: Array<{
    index?: number;
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    disposition?: { attached_pic?: number };
    side_data_list?: Array<{ rotation?: number }>;
  }>;
  format?: { format_name?: string; duration?: string; size?: string };
  /** Packets of every stream in the scanned interval. */
  packets?: Array<{ stream_index?: number; flags?: string }>;
}

/** ffprobe arguments for `path` (exported for tests and documentation). */
export function probeArgs(path: string): string[] {
  return [
    '-v', 'error',
    ...SAFE_INPUT_ARGS,
    '-read_intervals', `%+${KEYFRAME_SCAN_SEC}`,
    '-show_entries',
    'format=format_name,duration,size:stream=index,codec_type,codec_name,width,height,avg_frame_rate:stream_disposition=attached_pic:stream_side_data=rotation:packet=stream_index,flags',
    '-of', 'json=compact=1',
    `file:${path}`,
  ];
}

/** Parses an ffprobe rational like `30000/1001`; 0 for `0/0` or junk. */
function rational(v: string | undefined): number {
  if (!v) return 0;
  const [n, d] = v.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return 0;
  if (d === undefined) return n;
  return d > 0 && Number.isFinite(d) ? n / d : 0;
}

/**
 * Checks ffprobe's answer against the limits. Pure: no I/O.
 * @param bytes the file size on disk, bytes.
 * @throws BadVideoError `unsupported_container`, `no_video_stream`, `unsupported_codec`, `corrupt_video`,
 *   `too_long`, `too_large` or `resolution_too_high`.
 */
export function validateProbe(out: FfprobeOutput, bytes: number, limits: VideoLimits): VideoProbe {
  const container = out.format?.format_name ?? '';
  if (!ALLOWED_CONTAINERS.includes(container)) {
    throw new BadVideoError('unsupported_container', `container "${container || 'unknown'}" is not accepted (accepted: MP4/MOV, Matroska/WebM)`, { container });
  }
  if (bytes > limits.maxBytes) {
    throw new BadVideoError('too_large', `file is ${bytes} bytes, over the limit of ${limits.maxBytes} bytes`, { bytes, maxBytes: limits.maxBytes });
  }
  const streams = out.streams ?? [];
  if (streams.length === 0) {
    // An accepted container whose header describes no stream at all: the header (MP4 `moov`, Matroska `Tracks`) is
    // garbled. An audio-only file lists its audio stream and is refused below as `no_video_stream`.
    throw new BadVideoError('corrupt_video', `the ${container.startsWith('mov') ? 'MP4/MOV' : 'Matroska/WebM'} header lists no streams (garbled or incomplete header)`, { container });
  }
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video || video.index === undefined) {
    const kinds = streams.map((s) => `${s.index ?? '?'}:${s.codec_type ?? '?'}${s.disposition?.attached_pic === 1 ? '(cover art)' : ''}`);
    throw new BadVideoError('no_video_stream', `file has no video stream (streams: ${kinds.join(', ') || 'none'})`, { streams: kinds });
  }
  const codec = video.codec_name ?? 'unknown';
  if (!ALLOWED_CODECS.includes(codec)) {
    throw new BadVideoError('unsupported_codec', `video codec "${codec}" (stream ${video.index}) is not accepted (accepted: ${ALLOWED_CODECS.join(', ')})`, { codec, stream: video.index });
  }
  const durationSec = Number(out.format?.duration);
  if (!Number.isFinite(durationSec) || durationSec <= 0) {
    throw new BadVideoError('corrupt_video', `video has no usable duration (ffprobe reported "${out.format?.duration ?? 'nothing'}")`);
  }
  if (durationSec > limits.maxDurationSec) {
    throw new BadVideoError('too_long', `video is ${durationSec.toFixed(3)} s long, over the limit of ${limits.maxDurationSec} s`, { durationSec, maxDurationSec: limits.maxDurationSec });
  }
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  if (codedWidth <= 0 || codedHeight <= 0) {
    throw new BadVideoError('corrupt_video', `video stream ${video.index} has no frame size (${codedWidth}×${codedHeight})`);
  }
  const longSide = Math.max(codedWidth, codedHeight);
  const shortSide = Math.min(codedWidth, codedHeight);
  if (longSide > limits.maxLongSidePx || shortSide > limits.maxShortSidePx) {
    throw new BadVideoError(
      'resolution_too_high',
      `frame size ${codedWidth}×${codedHeight} is over the limit of ${limits.maxLongSidePx}×${limits.maxShortSidePx} (either orientation)`,
      { width: codedWidth, height: codedHeight, maxLongSidePx: limits.maxLongSidePx, maxShortSidePx: limits.maxShortSidePx },
    );
  }
  const rotation = video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? 0;
  const quarterTurn = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  return {
    container,
    codec,
    videoStreamIndex: video.index,
    codedWidth,
    codedHeight,
    width: quarterTurn ? codedHeight : codedWidth,
    height: quarterTurn ? codedWidth : codedHeight,
    rotation,
    durationSec,
    frameRate: rational(video.avg_frame_rate),
    bytes,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    keyPackets: {
      count: (out.packets ?? []).filter((p) => p.stream_index === video.index && p.flags?.startsWith('K') === true).length,
      scannedSec: Math.min(durationSec, KEYFRAME_SCAN_SEC),
    },
  };
}

/** Options of {@link probeVideo}. */
export interface ProbeOptions {
  /** ffprobe wall-clock limit, ms. @defaultValue 15000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Probes and validates the file at `path`.
 * @throws BadVideoError `empty_file` (0 bytes), `too_large` (checked before ffprobe runs), `not_a_video`
 *   (ffprobe finds no known format), `unsupported_container` (a format outside the whitelist, e.g. HLS, AVI, GIF),
 *   `corrupt_video` (ffprobe fails otherwise on an accepted container) and everything {@link validateProbe} throws.
 * @throws ToolTimeoutError / ToolAbortedError / ToolMissingError from {@link runTool}.
 */
export async function probeVideo(path: string, limits: VideoLimits, o: ProbeOptions = {}): Promise<VideoProbe> {
  const { size } = await stat(path);
  if (size === 0) throw new BadVideoError('empty_file', 'file is empty (0 bytes)');
  if (size > limits.maxBytes) {
    throw new BadVideoError('too_large', `file is ${size} bytes, over the limit of ${limits.maxBytes} bytes`, { bytes: size, maxBytes: limits.maxBytes });
  }
  let stdout: string;
  try {
    ({ stdout } = await runTool('ffprobe', probeArgs(path), {
      timeoutMs: o.timeoutMs ?? 15_000,
      captureStdout: true,
      // One compact JSON line of ~40 bytes per packet: 20 s of 120 fps video plus audio stays well under this.
      maxStdoutBytes: 1024 * 1024,
      ...(o.signal ? { signal: o.signal } : {}),
    }));
  } catch (err) {
    throw err instanceof ToolExitError ? classifyProbeFailure(err, await hasMediaSignature(path)) : err;
  }
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(stdout) as FfprobeOutput;
  } catch (err) {
    throw new BadVideoError('corrupt_video', 'ffprobe output was not JSON', undefined, { cause: err });
  }
  return validateProbe(parsed, size, limits);
}

/**
 * True when the file starts like an MP4/MOV (an ISO BMFF `ftyp`, `moov`, `mdat`, `free` or `wide` box) or a
 * Matroska/WebM (EBML magic 1A 45 DF A3) file, so a probe failure means "broken", not "not a video": an MP4 whose
 * upload was cut before its trailing moov atom fails with the same "moov atom not found" as a text file.
 */
export async function hasMediaSignature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await fh.read(head, 0, 12, 0);
    if (bytesRead >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return true;
    return bytesRead >= 8 && ['ftyp', 'moov', 'mdat', 'free', 'wide'].includes(head.toString('latin1', 4, 8));
  } finally {
    await fh.close();
  }
}

/**
 * Maps an ffprobe failure to a {@link BadVideoError} from its stderr (ffmpeg 5.1 messages):
 * `[hls @ 0x…] Format not on whitelist` → `unsupported_container` naming the detected format;
 * `Invalid data found when processing input` → `not_a_video`, or `corrupt_video` when the file has an MP4 or
 * Matroska signature ({@link hasMediaSignature}: a truncated upload); anything else → `corrupt_video`.
 */
export function classifyProbeFailure(err: ToolExitError, looksLikeMedia = false): BadVideoError {
  const text = err.stderrTail;
  const notListed = /\[([\w,.-]+) @ [^\]]+\] Format not on whitelist/.exec(text);
  if (notListed || /Format not on whitelist/.test(text)) {
    const detected = notListed?.[1] ?? 'unknown';
    return new BadVideoError('unsupported_container', `container "${detected}" is not accepted (accepted: MP4/MOV, Matroska/WebM)`, { container: detected }, { cause: err });
  }
  if (/Invalid data found when processing input/.test(text) && !looksLikeMedia) {
    return new BadVideoError('not_a_video', `file is not a video: ${lastErrorLine(text)}`, undefined, { cause: err });
  }
  return new BadVideoError('corrupt_video', `video could not be read: ${lastErrorLine(text)}`, undefined, { cause: err });
}

/** The last stderr line, without the absolute temp path ffmpeg prefixes (it means nothing to the caller). */
function lastErrorLine(text: string): string {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines[lines.length - 1] ?? 'no error output';
  const context = lines.length > 1 ? `${lines[lines.length - 2]!.replace(/^\[[^\]]+\]\s*/, '')}; ` : '';
  return `${context}${last.replace(/^file:\S+?:\s/, '').replace(/^\/\S+?:\s/, '')}`;
}
