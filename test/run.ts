/**
 * Test runner: runs every `test/**\/*.test.ts` file (uvu through tsx) in its own Node process, two at a time,
 * so each file is independent (own ports, own Redis key prefix, own module state). Prints each file's output
 * when it ends, then one line `N passed, N failed, N skipped`. Exit code 1 when anything failed.
 *
 * Usage: `npm test` (all files) or `npm test -- test/api test/media/probe.test.ts` (a subset by path prefix).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { countFailed, parseSummary } from './support/uvu-summary.ts';

const ROOT = process.cwd();
const FILE_TIMEOUT_MS = 240_000;

/**
 * Files that take 18 s or more (CI, 2 cores, November 2026), started first and longest first: in alphabetical order
 * the longest ones (test/worker/*) started last and ran alone at the end while the other slot was idle (the suite took
 * 305 s against 287 s of file time per slot). Listing a file here changes only when it starts.
 */
const LONGEST_FIRST = [
  'test/controller/cli.test.ts',
  'test/worker/worker-e2e.test.ts',
  'test/worker/exactly-once-kill.test.ts',
  'test/controller/service.test.ts',
  'test/ai/throttling.test.ts',
  'test/worker/pipeline.test.ts',
];

/** `files` with those of {@link LONGEST_FIRST} first, in its order; the rest keep theirs. */
function longestFirst(files: string[]): string[] {
  const rank = (f: string): number => {
    const i = LONGEST_FIRST.indexOf(relative(ROOT, f));
    return i === -1 ? LONGEST_FIRST.length : i;
  };
  return files.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'support' && name !== 'fixtures' && !name.startsWith('.')) out.push(...findTests(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  ms: number;
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      output += `\n[run] ${relative(ROOT, file)} timed out after ${FILE_TIMEOUT_MS} ms: killed\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Kill anything the file left running in its process group (a spawned redis-server, Azurite).
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      const s = parseSummary(output);
      const ms = Date.now() - started;
      if (!s) {
        resolve({ file, passed: 0, failed: 1, skipped: 0, output: `${output}\n[run] no uvu summary (exit code ${code}): counted as one failure\n`, ms });
        return;
      }
      let failed = countFailed(s);
      if (code !== 0 && failed === 0) {
        failed = 1;
        output += `\n[run] exit code ${code} after all tests passed: counted as one failure\n`;
      }
      resolve({ file, passed: s.passed, failed, skipped: s.skipped, output, ms });
    });
  });
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).map((f) => relative(ROOT, join(ROOT, f)));
  const files = findTests(join(ROOT, 'test')).filter((f) => filters.length === 0 || filters.some((p) => relative(ROOT, f).startsWith(p)));
  if (files.length === 0) {
    process.stdout.write('no test files matched\n0 passed, 1 failed\n');
    process.exit(1);
  }
  const parallel = Math.max(1, Math.min(2, cpus().length));
  const queue = longestFirst(files);
  const results: FileResult[] = [];
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const r = await runFile(f);
        results.push(r);
        const mark = r.failed > 0 ? 'FAIL' : 'ok  ';
        process.stdout.write(`\n=== ${mark} ${relative(ROOT, r.file)} (${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${(r.ms / 1000).toFixed(1)} s)\n`);
        if (r.failed > 0 || process.env.TEST_VERBOSE) process.stdout.write(r.output.trimEnd() + '\n');
        else {
          const skips = r.output.split('\n').filter((l) => /^\s*skip: /.test(l));
          if (skips.length) process.stdout.write(skips.join('\n') + '\n');
        }
      }
    }),
  );
  const sum = (k: 'passed' | 'failed' | 'skipped'): number => results.reduce((a, r) => a + r[k], 0);
  process.stdout.write(`\n${files.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`);
  process.exit(sum('failed') > 0 ? 1 : 0);
}

await main();
