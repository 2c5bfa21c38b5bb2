/**
 * Where the API reads the reconciler's latest drift report. The reconciler writes the report as JSON to the Redis
 * key `<REDIS_KEY_PREFIX>:drift:latest` after every pass (DESIGN.md §4 "report"); the API only reads it.
 */
import type { Redis } from 'ioredis';

/** Reads the latest drift report. */
export interface DriftReportReader {
  /** The report as the reconciler wrote it, or `undefined` when none has been written. */
  latest(): Promise<unknown>;
}

/** The Redis key of the latest report. */
export function driftReportKey(prefix: string): string {
  return `${prefix}:drift:latest`;
}

/**
 * Reader over Redis.
 * @throws (from `latest`) Error naming the key when the stored value is not JSON.
 */
export function redisDriftReportReader(redis: Redis, prefix: string): DriftReportReader {
  const key = driftReportKey(prefix);
  return {
    latest: async () => {
      const raw = await redis.get(key);
      if (raw === null) return undefined;
      try {
        return JSON.parse(raw) as unknown;
      } catch (err) {
        throw new Error(`drift report at ${key} is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
  };
}
