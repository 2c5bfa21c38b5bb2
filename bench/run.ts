/**
 * `npm run bench`: benchmarks that print figures and ratios against a baseline measured in the same run (never
 * pass/fail timing in tests). `npm run bench -- keyframes reconciler` runs the named ones only.
 *
 * - keyframes:   the pipeline's keyframe extraction beside a naive one-frame-per-second full decode;
 * - pipeline:    per-stage and end-to-end analysis times (AI emulator at 1.5 s per call), memory while streaming 1 GiB;
 * - reconciler:  read calls per pass against the minimum, CPU per pass, writes at steady state, 500 services;
 * - ai-overhead: the AI coordinator's added latency beside a direct @azure-rest/ai-inference call, p50/p99;
 * - api-load:    autocannon, 1000 connections, the API beside a bare Koa server returning the same JSON.
 */
import { benchKeyframes } from './keyframes.ts';
import { benchPipeline } from './pipeline.ts';
import { benchReconciler } from './reconciler.ts';
import { benchAiOverhead } from './ai-overhead.ts';
import { benchApiLoad } from './api-load.ts';

const BENCHMARKS: Readonly<Record<string, () => Promise<unknown>>> = {
  keyframes: benchKeyframes,
  pipeline: benchPipeline,
  reconciler: benchReconciler,
  'ai-overhead': benchAiOverhead,
  'api-load': () => benchApiLoad(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHMARKS));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(1);
}
for (const [name, fn] of Object.entries(BENCHMARKS)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n== bench ${name}`);
  try {
    await fn();
  } catch (err) {
    // One line naming the benchmark and what went wrong (a bad AI_BENCH_* variable, a stand-in that did not start);
    // the stack only with BENCH_VERBOSE=1.
    console.error(`bench ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.BENCH_VERBOSE === '1' && err instanceof Error) console.error(err.stack);
    process.exit(1);
  }
}
