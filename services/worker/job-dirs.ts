/**
 * Per-job temp directories under WORK_DIR (default: the OS temp dir), all named `ct-job-<analysisId>-<random>`,
 * private to the worker's user (mode 0700). The pipeline removes its dir in `finally`; a worker that was
 * SIGKILLed cannot, so each worker sweeps dirs with the prefix older than the job timeout when it starts
 * ({@link sweepOrphanedJobDirs}): no live job can own a dir older than that.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Prefix of every per-job temp dir; nothing else under WORK_DIR is ever touched by the sweep. */
export const JOB_DIR_PREFIX = 'ct-job-';

/**
 * Creates the temp dir of one job attempt.
 * @param analysisId put in the name (only `[A-Za-z0-9_-]` kept) so an operator can tell whose dir it is.
 * @returns the absolute path.
 */
export async function createJobDir(workDir: string, analysisId: string): Promise<string> {
  const dir = await mkdtemp(join(workDir, `${jobDirStem(analysisId)}-`));
  return dir;
}

/** `ct-job-<analysisId with only [A-Za-z0-9_-] kept, ≤ 64 chars>`: the name of an analysis's dirs before the random part. */
function jobDirStem(analysisId: string): string {
  return `${JOB_DIR_PREFIX}${analysisId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) || 'job'}`;
}

/**
 * Removes the dirs an earlier attempt of `analysisId` left under `workDir` (its worker was SIGKILLed, or the
 * container restarted on the same volume). Safe while the caller holds the job's BullMQ lock: no other attempt of
 * the analysis is running then.
 * @returns the names removed.
 */
export async function removeStaleJobDirsOf(workDir: string, analysisId: string): Promise<string[]> {
  const stem = `${jobDirStem(analysisId)}-`;
  const names = await readdir(workDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(stem) || name.slice(stem.length).includes('-')) continue;
    await removeJobDir(join(workDir, name));
    removed.push(name);
  }
  return removed;
}

/** Removes a job dir and everything in it; missing is fine. */
export async function removeJobDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
}

/**
 * Removes job dirs under `workDir` last modified more than `olderThanMs` ago.
 * @param now current time, ms since the epoch (injectable for tests).
 * @returns the names removed.
 */
export async function sweepOrphanedJobDirs(workDir: string, olderThanMs: number, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(workDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(JOB_DIR_PREFIX)) continue;
    const p = join(workDir, name);
    const info = await stat(p).catch(() => undefined);
    if (!info?.isDirectory() || now - info.mtimeMs <= olderThanMs) continue;
    await removeJobDir(p);
    removed.push(name);
  }
  return removed;
}
