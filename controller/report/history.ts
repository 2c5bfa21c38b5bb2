/**
 * Drift reports kept in Redis: the latest under `<prefix>:drift:latest` (a JSON string, what `GET /drift`, the
 * API's `GET /v1/drift` and `trendctl report` read) and the last N under `<prefix>:drift:history` (a list,
 * newest first). Written in one MULTI so readers never see a history without its latest.
 */
import type { Redis } from 'ioredis';
import { TerminalError } from '../../services/platform/errors.ts';
import type { DriftReport } from '../types.ts';

/** Reports kept in the history list. @defaultValue 50 */
export const DEFAULT_HISTORY_LENGTH = 50;

/** Redis keys of the report store under a key prefix (`REDIS_KEY_PREFIX`). */
export function reportKeys(prefix: string): { latest: string; history: string } {
  return { latest: `${prefix}:drift:latest`, history: `${prefix}:drift:history` };
}

function parse(text: string | null): DriftReport | undefined {
  if (text === null) return undefined;
  const value = JSON.parse(text) as unknown;
  if (!value || typeof value !== 'object' || (value as { kind?: unknown }).kind !== 'DriftReport') {
    throw new TerminalError('invalid_drift_report', 'the stored drift report is not a DriftReport');
  }
  return value as DriftReport;
}

/** Store of drift reports. */
export class ReportHistory {
  private readonly keys: { latest: string; history: string };

  /**
   * @param redis a connection (not closed by this class).
   * @param prefix the key prefix (`REDIS_KEY_PREFIX`).
   * @param maxLength reports kept in the history list.
   */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly maxLength = DEFAULT_HISTORY_LENGTH,
  ) {
    this.keys = reportKeys(prefix);
  }

  /** Saves a report as the latest and at the head of the history, trimming it to `maxLength`. */
  async push(report: DriftReport): Promise<void> {
    const text = JSON.stringify(report);
    await this.redis.multi().set(this.keys.latest, text).lpush(this.keys.history, text).ltrim(this.keys.history, 0, this.maxLength - 1).exec();
  }

  /** The latest report, or undefined when none was saved yet. */
  async latest(): Promise<DriftReport | undefined> {
    return parse(await this.redis.get(this.keys.latest));
  }

  /** Up to `count` reports, newest first. */
  async list(count = this.maxLength): Promise<DriftReport[]> {
    const items = await this.redis.lrange(this.keys.history, 0, Math.max(0, count - 1));
    return items.map((t) => parse(t)!);
  }
}
