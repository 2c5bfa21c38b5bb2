/**
 * Runs ffmpeg and ffprobe: always an argument array (never a shell), always `-nostdin -hide_banner` for ffmpeg,
 * always a wall-clock timeout, and always in a process group of its own so that a timeout or an abort kills
 * everything it started (SIGKILL to the group).
 *
 * stderr is handed to the caller line by line (`onStderrLine`, for `showinfo` output) and only a bounded tail is
 * kept for error messages; stdout is either captured up to a byte limit (ffprobe JSON) or handed over line by line
 * (ffmpeg `-progress pipe:1`). Nothing grows without bound however much the tool prints.
 *
 * Why spawn directly: fluent-ffmpeg is archived (reference/video-keyframes.md §7) and the commands are few and fixed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { AppError, TerminalError, TransientError } from '../platform/errors.ts';

/** The two tools this module runs. */
export type MediaTool = 'ffmpeg' | 'ffprobe';

/** Options of {@link runTool}. */
export interface RunToolOptions {
  /** Wall-clock limit in ms; the process group is killed with SIGKILL when it passes. */
  timeoutMs: number;
  /** Aborting kills the process group; the promise then rejects with {@link ToolAbortedError}. */
  signal?: AbortSignal;
  /** Capture stdout into the result, failing when it exceeds `maxStdoutBytes`. @defaultValue false */
  captureStdout?: boolean;
  /** Limit of captured stdout, bytes. @defaultValue 1 MiB */
  maxStdoutBytes?: number;
  /** Called with every complete stdout line (when not captured). */
  onStdoutLine?: (line: string) => void;
  /** Called with every complete stderr line. */
  onStderrLine?: (line: string) => void;
  /** Bytes of stderr kept (the tail) for error messages. @defaultValue 8 KiB */
  maxStderrBytes?: number;
  /** Working directory. */
  cwd?: string;
  /** Called with the process id once spawned (logs, tests). */
  onSpawn?: (pid: number) => void;
}

/** What a finished tool run produced. */
export interface ToolResult {
  /** Exit code (0 here: non-zero codes reject with {@link ToolExitError}). */
  exitCode: number;
  /** Captured stdout (empty unless `captureStdout`). */
  stdout: string;
  /** The last `maxStderrBytes` of stderr. */
  stderrTail: string;
  /** Wall-clock duration, ms. */
  durationMs: number;
}

/** The tool exited with a non-zero code (or was killed by a signal). Callers classify it (corrupt, not a video…). */
export class ToolExitError extends AppError {
  readonly tool: MediaTool;
  /** Exit code, or null when killed by a signal. */
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  /** The last bytes of stderr (ffmpeg's own error lines). */
  readonly stderrTail: string;
  constructor(tool: MediaTool, exitCode: number | null, exitSignal: NodeJS.Signals | null, stderrTail: string) {
    const how = exitCode === null ? `was killed by ${exitSignal ?? 'a signal'}` : `exited with code ${exitCode}`;
    super('media_tool_failed', `${tool} ${how}: ${lastLines(stderrTail, 3) || '(no error output)'}`, 500);
    this.tool = tool;
    this.exitCode = exitCode;
    this.exitSignal = exitSignal;
    this.stderrTail = stderrTail;
  }
}

/** The tool ran past its wall-clock limit and was killed. Retryable: a loaded machine can cause it. */
export class ToolTimeoutError extends TransientError {
  readonly tool: MediaTool;
  readonly timeoutMs: number;
  constructor(tool: MediaTool, timeoutMs: number) {
    super('media_timeout', `${tool} did not finish within ${timeoutMs} ms and was killed`);
    this.tool = tool;
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's signal aborted the run (job timeout, shutdown); the process group was killed. */
export class ToolAbortedError extends AppError {
  readonly tool: MediaTool;
  constructor(tool: MediaTool, reason: unknown) {
    super('media_aborted', `${tool} was aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`, 503, undefined, { cause: reason });
    this.tool = tool;
  }
}

/** The tool produced more stdout than allowed (a hostile file making ffprobe print megabytes of JSON). */
export class ToolOutputTooLargeError extends TerminalError {
  constructor(tool: MediaTool, maxBytes: number) {
    super('media_output_too_large', `${tool} printed more than ${maxBytes} bytes on stdout; the input is refused`);
  }
}

/** ffmpeg or ffprobe is not installed: a deployment fault, not retryable by the job. */
export class ToolMissingError extends TerminalError {
  constructor(tool: MediaTool) {
    super('media_tool_missing', `${tool} is not installed or not on PATH (install the ffmpeg package)`);
  }
}

/** Process groups of the tools running now, so a shutting-down process can kill them ({@link killActiveTools}). */
const active = new Set<ChildProcess>();

/** Number of tool processes running now (tests use it to prove nothing is left behind). */
export function activeToolCount(): number {
  return active.size;
}

/** Kills every running tool process group (SIGKILL). Synchronous, so it is safe in a `process.on('exit')` handler. */
export function killActiveTools(): void {
  for (const child of active) killGroup(child);
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).map((l) => l.trim()).join(' | ');
}

/** Splits a byte stream into lines without keeping more than one partial line (itself capped at 64 KiB). */
function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let partial = '';
  return {
    push(chunk) {
      partial += chunk.toString('utf8');
      let nl = partial.search(/[\r\n]/);
      while (nl !== -1) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.length) onLine(line);
        nl = partial.search(/[\r\n]/);
      }
      if (partial.length > 65536) partial = partial.slice(-65536);
    },
    end() {
      if (partial.length) onLine(partial);
      partial = '';
    },
  };
}

/**
 * Runs `tool` with `args` and resolves when it exits with code 0.
 * For ffmpeg, `-nostdin -hide_banner` are prepended; for ffprobe, `-hide_banner`.
 * @throws ToolMissingError when the binary is not found.
 * @throws ToolTimeoutError when `timeoutMs` passes (the process group is killed first).
 * @throws ToolAbortedError when `signal` aborts (the process group is killed first).
 * @throws ToolOutputTooLargeError when captured stdout exceeds `maxStdoutBytes`.
 * @throws ToolExitError on a non-zero exit, with the stderr tail.
 */
export function runTool(tool: MediaTool, args: readonly string[], o: RunToolOptions): Promise<ToolResult> {
  const fullArgs = tool === 'ffmpeg' ? ['-nostdin', '-hide_banner', ...args] : ['-hide_banner', ...args];
  const maxStdout = o.maxStdoutBytes ?? 1024 * 1024;
  const maxStderr = o.maxStderrBytes ?? 8192;
  const started = Date.now();
  return new Promise<ToolResult>((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new ToolAbortedError(tool, o.signal.reason));
      return;
    }
    const child = spawn(tool, fullArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: kill(-pid) reaches everything it starts
      ...(o.cwd ? { cwd: o.cwd } : {}),
      windowsHide: true,
    });
    active.add(child);
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
    let failure: Error | undefined;
    const fail = (err: Error): void => {
      if (!failure) failure = err;
      killGroup(child);
    };
    const timer = setTimeout(() => fail(new ToolTimeoutError(tool, o.timeoutMs)), o.timeoutMs);
    const onAbort = (): void => fail(new ToolAbortedError(tool, o.signal?.reason));
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    const stdoutLines = o.onStdoutLine ? lineSplitter(o.onStdoutLine) : undefined;
    child.stdout.on('data', (b: Buffer) => {
      if (o.captureStdout) {
        stdoutBytes += b.length;
        if (stdoutBytes > maxStdout) fail(new ToolOutputTooLargeError(tool, maxStdout));
        else stdoutChunks.push(b);
      } else stdoutLines?.push(b);
    });

    let stderrTail = '';
    const stderrLines = o.onStderrLine ? lineSplitter(o.onStderrLine) : undefined;
    child.stderr.on('data', (b: Buffer) => {
      stderrTail += b.toString('utf8');
      if (stderrTail.length > maxStderr) stderrTail = stderrTail.slice(-maxStderr);
      stderrLines?.push(b);
    });

    const finish = (): void => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      active.delete(child);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      finish();
      reject(e.code === 'ENOENT' ? new ToolMissingError(tool) : e);
    });
    child.once('close', (code, sig) => {
      finish();
      stdoutLines?.end();
      stderrLines?.end();
      if (failure) reject(failure);
      else if (code !== 0) reject(new ToolExitError(tool, code, sig, stderrTail));
      else resolve({ exitCode: 0, stdout: Buffer.concat(stdoutChunks).toString('utf8'), stderrTail, durationMs: Date.now() - started });
    });
  });
}
