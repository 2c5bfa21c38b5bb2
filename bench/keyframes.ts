/**
 * Keyframe extraction benchmark: the pipeline's extraction (`services/media`: probe, key frames only with the
 * decode check, dedupe) beside a naive baseline measured in the same run on the same file: a full decode sampling
 * one frame per second (`-vf fps=1`), which is what most tutorials do. Figures: wall time, multiples of real time,
 * frames out, the extraction plan with its ffmpeg runs, and the speed-up ratio. Each side runs {@link REPS} times,
 * interleaved, and the medians are reported, so that load from others on a shared machine hits both sides alike.
 * The probe (ffprobe, which also counts the key packets the plan is chosen from) is excluded from "ours" like
 * the naive side has none, and shown in its own column.
 *
 * Inputs: the sample videos of ../shared/samples/videos when present, plus a 60 s 1080p30 H.264 clip rendered
 * here from them (or from ffmpeg's test sources) — the clip the product target is stated for.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeVideo, DEFAULT_VIDEO_LIMITS } from '../services/media/probe.ts';
import { extractKeyframes } from '../services/media/keyframes.ts';
import { makeClip, samplePath } from '../devstack/samples.ts';

/** Runs per side and video; medians are reported. */
const REPS = 5;

/** One measured row (medians over {@link REPS} runs). */
export interface KeyframeBenchRow {
  video: string;
  durationSec: number;
  /** ffprobe validation and key-packet scan, ms. */
  probeMs: number;
  ourMs: number;
  ourFrames: number;
  /** The extraction plan and its ffmpeg runs, e.g. `single-pass/1`. */
  ourPlan: string;
  naiveMs: number;
  naiveFrames: number;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-400)}`))));
  });
}

/** Renders the 60 s 1080p30 H.264 clip (recipe from shared/samples/videos/SOURCES.md), or a synthetic one. */
export async function make1080pClip(dir: string): Promise<string> {
  const out = join(dir, 'bench-1080p-60s.mp4');
  const flower = samplePath('flower.mp4');
  const friday = samplePath('friday.mp4');
  const water = samplePath('stream-of-water.webm');
  if (flower && friday && water) {
    await run('ffmpeg', [
      '-hide_banner', '-v', 'error', '-y',
      '-stream_loop', '3', '-i', flower, '-stream_loop', '3', '-i', friday, '-stream_loop', '4', '-i', water,
      '-filter_complex', '[0:v]scale=1920:1080,setsar=1,fps=30[a];[1:v]scale=1920:1080,setsar=1,fps=30[b];[2:v]scale=1920:1080,setsar=1,fps=30[c];[a][b][c]concat=n=3:v=1:a=0[v]',
      '-map', '[v]', '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', out,
    ]);
    return out;
  }
  return makeClip(out, { seconds: 60, width: 1920, height: 1080, fps: 30, audio: false });
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function measure(video: string, label: string, scratch: string): Promise<KeyframeBenchRow> {
  const limits = { ...DEFAULT_VIDEO_LIMITS, maxDurationSec: 600 };
  const times = { probe: [] as number[], ours: [] as number[], naive: [] as number[] };
  let row: Omit<KeyframeBenchRow, 'probeMs' | 'ourMs' | 'naiveMs'> | undefined;
  for (let i = 0; i < REPS; i++) {
    const ourDir = join(scratch, `${label}-ours-${i}`);
    const naiveDir = join(scratch, `${label}-naive-${i}`);
    await Promise.all([mkdir(ourDir), mkdir(naiveDir)]);
    const tp = performance.now();
    const probe = await probeVideo(video, limits);
    times.probe.push(performance.now() - tp);
    const t0 = performance.now();
    const ours = await extractKeyframes(video, probe, { outDir: ourDir, maxKeyframes: 12, timeoutMs: 120_000 });
    times.ours.push(performance.now() - t0);
    const t1 = performance.now();
    await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-i', video, '-an', '-vf', 'fps=1,scale=w=\'min(1120,iw)\':h=\'min(1120,ih)\':force_original_aspect_ratio=decrease', '-q:v', '3', join(naiveDir, 'f%04d.jpg')]);
    times.naive.push(performance.now() - t1);
    const naiveFrames = (await readdir(naiveDir)).length;
    row = { video: label, durationSec: probe.durationSec, ourFrames: ours.frames.length, ourPlan: `${ours.plan}/${ours.passes}`, naiveFrames };
    await Promise.all([rm(ourDir, { recursive: true }), rm(naiveDir, { recursive: true })]);
  }
  if (!row) throw new Error('no run');
  return { ...row, probeMs: median(times.probe), ourMs: median(times.ours), naiveMs: median(times.naive) };
}

/** Runs the benchmark and prints a table. */
export async function benchKeyframes(): Promise<KeyframeBenchRow[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'ct-bench-kf-'));
  try {
    const inputs: Array<[string, string]> = [];
    for (const name of ['flower.mp4', 'friday.mp4', 'flower.webm', 'vp9-counter-frames.webm', 'rotate-buck-bunny.mp4', 'stream-of-water.webm']) {
      const p = samplePath(name);
      if (p) inputs.push([name, p]);
    }
    if (inputs.length === 0) {
      console.log('  (../shared/samples/videos not found: using a rendered 6 s clip instead of the samples)');
      inputs.push(['rendered-6s-640x360.mp4', await makeClip(join(scratch, 'clip6.mp4'))]);
    }
    const t = performance.now();
    inputs.push(['60s-1080p30-h264.mp4', await make1080pClip(scratch)]);
    console.log(`  rendered the 60 s 1080p clip in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
    const rows: KeyframeBenchRow[] = [];
    for (const [label, path] of inputs) rows.push(await measure(path, label, scratch));
    console.log('');
    console.log(`  medians of ${REPS} interleaved runs; load average before: ${loadBefore}, after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('  video                          length  probe ms   ours: ms  x realtime frames plan/ffmpeg runs | naive fps=1: ms  x realtime frames | speed-up');
    for (const r of rows) {
      const rt = (ms: number): string => `${(r.durationSec / (ms / 1000)).toFixed(1)}x`;
      console.log(`  ${r.video.padEnd(30)} ${r.durationSec.toFixed(1).padStart(5)} s ${r.probeMs.toFixed(0).padStart(8)} ${r.ourMs.toFixed(0).padStart(9)} ${rt(r.ourMs).padStart(11)} ${String(r.ourFrames).padStart(6)} ${r.ourPlan.padStart(16)} | ${r.naiveMs.toFixed(0).padStart(15)} ${rt(r.naiveMs).padStart(11)} ${String(r.naiveFrames).padStart(6)} | ${(r.naiveMs / r.ourMs).toFixed(2).padStart(6)}x`);
    }
    return rows;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
