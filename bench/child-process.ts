/**
 * Stand-ins and servers that a benchmark runs in processes of their own, so that their CPU, heap and garbage
 * collection are not measured as the benchmark's own: a Node child started through tsx from the repository root,
 * which prints one JSON line (its address) when it is ready and stops on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** A running child. */
export interface Child {
  proc: ChildProcess;
  /** The last 4000 characters the child wrote to stderr (for error messages). */
  stderr: () => string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the child has exited. Does nothing if it already has. */
  stop(): Promise<void>;
}

/**
 * Starts `node --no-warnings <nodeArgs> --import tsx <args>` with only PATH, HOME and `env` in its environment.
 * @param stdout 'pipe' to read its ready line ({@link firstJsonLine}), 'ignore' otherwise.
 */
export function startChild(args: string[], env: Record<string, string>, stdout: 'pipe' | 'ignore', nodeArgs: readonly string[] = []): Child {
  const proc = spawn(process.execPath, ['--no-warnings', ...nodeArgs, '--import', 'tsx', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', stdout, 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  return {
    proc,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs the ES module source `code` in a child ({@link startChild}, stdout piped). The code prints its ready line
 * and closes what it started on SIGTERM.
 */
export function startModuleChild(code: string, nodeArgs: readonly string[] = []): Child {
  return startChild(['--input-type=module', '-e', code], {}, 'pipe', nodeArgs);
}

/**
 * Resolves with the first line starting with `{` that the child prints, parsed.
 * @throws Error naming `what` and the child's stderr when it exits first or prints nothing in `timeoutMs` (ms).
 */
export function firstJsonLine(child: Child, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs} ms: ${child.stderr()}`)), timeoutMs);
    child.proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
    child.proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${child.stderr()}`));
    });
  });
}
