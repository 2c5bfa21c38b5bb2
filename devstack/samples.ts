/**
 * Real input videos. They live in `../shared/samples/videos/` beside the repository (CI always has it; a user's
 * clone may not), are read from there and never copied into the repository. When they are missing, callers
 * fall back to {@link makeClip}, which renders a short multi-scene clip with ffmpeg's built-in sources.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Absolute path of `../shared/samples/videos` relative to the repository root. */
export const SAMPLES_DIR = fileURLToPath(new URL('../../shared/samples/videos/', import.meta.url));

/** Path of a sample video, or `undefined` when `../shared` is not beside the repository. */
export function samplePath(name: string): string | undefined {
  const p = join(SAMPLES_DIR, name);
  return existsSync(p) ? p : undefined;
}

/** Options of {@link makeClip}. */
export interface ClipOptions {
  /** Length in seconds. @defaultValue 6 */
  seconds?: number;
  /** Frame width in px. @defaultValue 640 */
  width?: number;
  /** Frame height in px. @defaultValue 360 */
  height?: number;
  /** Frames per second. @defaultValue 25 */
  fps?: number;
  /** Add a sine audio track. @defaultValue true */
  audio?: boolean;
}

/**
 * Renders an H.264/AAC MP4 of three visibly different scenes (moving test pattern, SMPTE colour bars, moving mandelbrot; all deterministic,
 * so the same options always give the same frames)
 * with ffmpeg's lavfi sources, so keyframe selection has real cuts to find.
 * @returns `out`.
 * @throws Error with ffmpeg's stderr when ffmpeg fails or is missing.
 */
export async function makeClip(out: string, o: ClipOptions = {}): Promise<string> {
  const seconds = o.seconds ?? 6;
  const w = o.width ?? 640;
  const h = o.height ?? 360;
  const fps = o.fps ?? 25;
  const part = Math.max(seconds / 3, 0.5);
  const size = `${w}x${h}`;
  const args = [
    '-hide_banner', '-v', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}:duration=${part}`,
    '-f', 'lavfi', '-i', `smptehdbars=size=${size}:rate=${fps}:duration=${part}`,
    '-f', 'lavfi', '-i', `mandelbrot=size=${size}:rate=${fps}`,
    ...(o.audio === false ? [] : ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`]),
    '-filter_complex', `[0:v]setsar=1[a];[1:v]setsar=1[b];[2:v]trim=duration=${part},setpts=PTS-STARTPTS,setsar=1[c];[a][b][c]concat=n=3:v=1:a=0[v]`,
    '-map', '[v]', ...(o.audio === false ? [] : ['-map', '3:a', '-c:a', 'aac', '-b:a', '64k']),
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', out,
  ];
  await new Promise<void>((resolve, reject) => {
    const p = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error('ffmpeg not found: install it with `sudo apt-get install -y ffmpeg`') : e));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${err.trim()}`))));
  });
  return out;
}
