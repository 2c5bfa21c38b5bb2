/**
 * Reading what ffmpeg prints while it runs with `-loglevel level+info -progress pipe:1`:
 * - `showinfo` filter lines on stderr (one per frame: number, pts, pts_time, size);
 * - level-tagged error lines on stderr (`[error]`, `[fatal]`, `[panic]`), kept (bounded) for messages;
 * - `out_time_us=` lines of `-progress` on stdout: how far the output got, microseconds from the start.
 * Line formats are those of ffmpeg 5.1 (Debian 12), checked against the samples in shared/samples/videos.
 */

/** One frame reported by the `showinfo` filter. */
export interface ShowinfoFrame {
  /** Frame number at the filter, from 0. */
  n: number;
  /** Presentation time, seconds (relative to the input start unless `-copyts`). */
  ptsTime: number;
  width: number;
  height: number;
  /** The decoder flagged it a key frame (`iskey:1`); `false` when the line says `iskey:0` or nothing. */
  key: boolean;
}

const SHOWINFO = /\[Parsed_showinfo_\d+ @ [^\]]+\]\s*(?:\[\w+\]\s*)?n:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+(?:e[+-]?\d+)?)\s.*?\ss:(\d+)x(\d+)(?:.*?\siskey:(\d))?/;
const LEVEL = /\[(panic|fatal|error)\]\s*(.*)$/;

/** Parses a `showinfo` frame line; `undefined` for any other line. */
export function parseShowinfoLine(line: string): ShowinfoFrame | undefined {
  const m = SHOWINFO.exec(line);
  if (!m) return undefined;
  return { n: Number(m[1]), ptsTime: Number(m[2]), width: Number(m[3]), height: Number(m[4]), key: m[5] === '1' };
}

/** Collects ffmpeg's output of one run. Feed it with `onStderrLine` / `onStdoutLine` of runTool. */
export class FfmpegOutput {
  /** Frames seen by showinfo, in order. */
  readonly frames: ShowinfoFrame[] = [];
  /** Error lines (`[error]`, `[fatal]`, `[panic]`), at most {@link FfmpegOutput.maxErrors}. */
  readonly errors: string[] = [];
  /** Largest `out_time_us` seen, microseconds; `undefined` when ffmpeg reported none. */
  lastOutTimeUs: number | undefined;
  /** `true` once `-progress` printed `progress=end`. */
  ended = false;
  private readonly maxErrors: number;

  /** @param maxErrors error lines kept. @defaultValue 20 */
  constructor(maxErrors = 20) {
    this.maxErrors = maxErrors;
  }

  /** Handles one stderr line. */
  readonly onStderrLine = (line: string): void => {
    const f = parseShowinfoLine(line);
    if (f) {
      this.frames.push(f);
      return;
    }
    const m = LEVEL.exec(line);
    if (m && this.errors.length < this.maxErrors) this.errors.push(m[2]!.replace(/file:\/\S+?:\s/g, '').trim());
  };

  /** Handles one stdout (`-progress`) line. */
  readonly onStdoutLine = (line: string): void => {
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'out_time_us') {
      const us = Number(value);
      if (Number.isFinite(us) && us >= 0 && (this.lastOutTimeUs === undefined || us > this.lastOutTimeUs)) this.lastOutTimeUs = us;
    } else if (key === 'progress' && value === 'end') this.ended = true;
  };

  /** The error lines joined for a message, or a fallback text. */
  errorSummary(fallback: string): string {
    return this.errors.length ? this.errors.slice(-3).join('; ') : fallback;
  }
}
