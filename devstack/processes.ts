/**
 * Runs the engine's process roles (api, worker, reconciler) as separate Node processes, configured only through
 * environment variables as on ECS, with their output in log files. `stop()` sends SIGTERM (as ECS does) and
 * SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Entry points of the roles, relative to the repository root. */
export const ROLE_ENTRY: Readonly<Record<'api' | 'worker' | 'reconciler', string>> = {
  api: 'services/api/main.ts',
  worker: 'services/worker/main.ts',
  reconciler: 'controller/main.ts',
};

/** A running role process. */
export interface RoleProcess {
  role: keyof typeof ROLE_ENTRY;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs` (ms). Resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
  /** The last `lines` lines of the log. */
  tail(lines?: number): Promise<string>;
}

/**
 * Starts `role` with exactly `env` (plus PATH and HOME) as its environment.
 * @param logDir directory for `<role>.log`.
 */
export function startRole(role: keyof typeof ROLE_ENTRY, env: Record<string, string>, logDir: string, cwd: string): RoleProcess {
  const logFile = join(logDir, `${role}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', ROLE_ENTRY[role]], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      log.end();
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  return {
    role,
    child,
    logFile,
    exited,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const r = await exited;
        clearTimeout(timer);
        return r;
      }
      return exited;
    },
    tail: async (lines = 30) => {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
  };
}
