/**
 * Readiness: can this replica serve traffic right now? The API needs Redis for every write and read of analyses,
 * so readiness is "Redis answers PING within the timeout". Each check reports ok or failed with a reason (habit 6);
 * the reason is generic because /readyz is open, and the underlying error goes to the log.
 */
import type { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../platform/logger.ts';

/** One check's outcome. */
export interface ReadinessCheck {
  name: string;
  outcome: 'ok' | 'failed';
  reason?: string;
  /** How long the check took, ms. */
  durationMs: number;
}

/** All checks; `ready` when every one is ok. */
export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** How long Redis gets to answer PING, ms (the brief: 1 s). */
export const REDIS_PING_TIMEOUT_MS = 1000;

/** PINGs Redis, failing after `timeoutMs`. */
export async function checkRedis(redis: Redis, log: Logger, timeoutMs = REDIS_PING_TIMEOUT_MS): Promise<ReadinessCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const answer = await Promise.race([redis.ping(), timeout]);
    if (answer === 'PONG') return { name: 'redis', outcome: 'ok', durationMs: elapsed() };
    const reason = answer === 'timeout' ? `no answer to PING within ${timeoutMs} ms` : 'unexpected answer to PING';
    return { name: 'redis', outcome: 'failed', reason, durationMs: elapsed() };
  } catch (err) {
    log.warn({ err }, 'readiness: redis PING failed');
    return { name: 'redis', outcome: 'failed', reason: 'PING failed (not connected)', durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every readiness check. */
export async function checkReadiness(redis: Redis, log: Logger): Promise<ReadinessReport> {
  const checks = [await checkRedis(redis, log)];
  return { ready: checks.every((c) => c.outcome === 'ok'), checks };
}
