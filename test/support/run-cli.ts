/**
 * Runs `trendctl` in-process (controller/cli/main.ts `main`), without spawning it (spawning through tsx costs seconds
 * per call), with stdout and stderr captured and no TTY.
 */
import { PassThrough } from 'node:stream';
import { main } from '../../controller/cli/main.ts';

/** What one trendctl run printed and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `trendctl <args>` with an empty environment (`env`, default none). */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await main(args, env, { stdout, stderr, isTTY: false });
  return { code, out, err };
}
