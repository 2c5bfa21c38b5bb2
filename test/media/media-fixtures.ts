/**
 * Media fixtures generated at test time with ffmpeg's built-in sources (nothing binary is stored in the repo),
 * and small helpers shared by the media and worker tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs ffmpeg synchronously (fixtures only); throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fixture ffmpeg failed (${r.status}): ${r.stderr}`);
}

/** Runs ffprobe synchronously and returns stdout. */
export function ffprobe(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ffprobe', ['-hide_banner', '-v', 'error', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A temp dir for one test file, removed by `cleanup()`. */
export async function fixtureDir(name: string): Promise<{ dir: string; path(file: string): string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `ct-test-${name}-`));
  return { dir, path: (f) => join(dir, f), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** H.264 clip of one still colour (every frame identical) with a keyframe every `gop` frames. */
export function stillClip(out: string, seconds = 4, gop = 10): string {
  ffmpeg(['-f', 'lavfi', '-i', `color=c=0x3366cc:size=320x240:rate=25:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-keyint_min', String(gop), '-pix_fmt', 'yuv420p', out]);
  return out;
}

/**
 * H.264 clip of `scenes` visibly different still scenes of `secondsPerScene` each, encoded with one keyframe only
 * (infinite GOP, scene-cut detection off): the keyframe pass sees one frame, sampling must find the rest.
 */
export function oneKeyframeScenes(out: string, scenes = 3, secondsPerScene = 1.5): string {
  const colours = ['red', 'green', 'blue', 'yellow', 'white', 'purple'];
  const inputs: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < scenes; i++) {
    // Each scene: a test pattern in its own hue, so dHash differs strongly between scenes.
    const src = i % 2 === 0 ? `testsrc2=size=320x240:rate=25:duration=${secondsPerScene}` : `smptebars=size=320x240:rate=25:duration=${secondsPerScene}`;
    inputs.push('-f', 'lavfi', '-i', src);
    labels.push(`[${i}:v]${i === 2 ? 'hflip,' : ''}drawbox=x=0:y=0:w=${80 * (i + 1)}:h=240:color=${colours[i % colours.length]}:t=fill,setsar=1[s${i}]`);
  }
  const concat = `${labels.join(';')};${Array.from({ length: scenes }, (_, i) => `[s${i}]`).join('')}concat=n=${scenes}:v=1:a=0[v]`;
  ffmpeg([...inputs, '-filter_complex', concat, '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '100000', '-keyint_min', '100000', '-x264-params', 'scenecut=0', '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** Clip with a keyframe every `gop` frames over moving content (many distinct keyframes). */
export function manyKeyframes(out: string, seconds = 4, gop = 5): string {
  ffmpeg(['-f', 'lavfi', '-i', `mandelbrot=size=320x240:rate=25`, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-keyint_min', String(gop), '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** AAC audio only, in an MP4 container, named as the caller likes (e.g. `.mp4`). */
export function audioOnly(out: string): string {
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', '-f', 'mp4', out]);
  return out;
}

/** The first `bytes` bytes of `src`, written to `out`. */
export async function truncateCopy(src: string, out: string, bytes: number): Promise<string> {
  const fh = await open(src, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    await writeFile(out, buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
  return out;
}

/**
 * Byte offset just past a whole video packet at about `fraction` of the file: truncating there leaves no partial
 * packet, so no "corrupt packet" error is raised — only the early end of data shows the damage.
 */
export function packetBoundaryOffset(file: string, fraction: number): number {
  const r = ffprobe(['-select_streams', 'v', '-show_entries', 'packet=pos,size', '-of', 'csv=p=0', file]);
  const packets = r.stdout.trim().split('\n').map((l) => l.split(',').map(Number) as [number, number]).filter(([p, s]) => Number.isFinite(p) && Number.isFinite(s));
  const target = packets[Math.floor(packets.length * fraction)];
  if (!target) throw new Error(`no packets in ${file}`);
  return target[0] + target[1];
}

/**
 * A copy of the MP4 `src` (made with `+faststart`, so `moov` comes before `mdat`) whose `moov` box keeps its size and
 * type but has its first `bytes` bytes of content overwritten with a fixed pseudo-random pattern: a real file with
 * a garbled header. The sample data (`mdat`) is untouched.
 * @throws Error when `src` has no `moov` box.
 */
export async function garbleMoov(src: string, out: string, bytes = 400): Promise<string> {
  const data = Buffer.from(await readFile(src));
  const at = data.indexOf('moov', 0, 'latin1');
  if (at < 4) throw new Error(`${src} has no moov box`);
  for (let k = at + 4; k < Math.min(data.length, at + 4 + bytes); k++) data[k] = (k * 131 + 17) % 256;
  await writeFile(out, data);
  return out;
}
