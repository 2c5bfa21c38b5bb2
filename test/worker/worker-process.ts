/**
 * `services/worker/main.ts` as a child process (as in ECS) for end-to-end tests: its JSON log lines, a way to wait
 * for one, and its exit. The environment is what the caller passes plus PATH/HOME and the metrics listener's.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** A running worker process. */
export interface WorkerProc {
  child: ChildProcess;
  /** Every JSON log line so far (non-JSON lines as `{ msg }`). */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first line (past or future) matching `pred`; rejects after `timeoutMs` or on exit. */
  waitLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Spawns the worker with `env` (config variables, names as in schemas/runtime-config.schema.json). Its metrics
 * listener is on a free loopback port unless `env` says otherwise (its `worker_started` log line has `metricsUrl`).
 * Set TEST_VERBOSE=1 to echo its log lines.
 */
export function spawnWorker(env: Record<string, string>): WorkerProc {
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'services/worker/main.ts'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    partial += b.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(line) as Record<string, unknown>;
      } catch {
        l = { msg: line };
      }
      logs.push(l);
      if (process.env.TEST_VERBOSE) process.stdout.write(`    [worker ${child.pid}] ${line}\n`);
      for (const w of [...waiters]) if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    waitLog: (pred, timeoutMs = 60_000) => {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`log line not seen in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
        waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
        void exited.then((code) => reject(new Error(`worker exited (${code}) before the log line; stderr: ${stderr.slice(-2000)}`)));
      });
    },
  };
}
