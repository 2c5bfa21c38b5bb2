/**
 * `npm run bench`: benchmarks that print figures and ratios against a baseline measured in the same run (never
 * pass/fail timing in tests). `npm run bench -- keyframes` runs one benchmark by name.
 *
 * - keyframes: the pipeline's keyframe extraction beside a naive one-frame-per-second full decode.
 */
import { benchKeyframes } from './keyframes.ts';

const BENCHMARKS: Readonly<Record<string, () => Promise<unknown>>> = {
  keyframes: benchKeyframes,
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
  await fn();
}
