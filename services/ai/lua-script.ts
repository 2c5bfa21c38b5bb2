/**
 * A Redis Lua script run by its SHA1 (`EVALSHA`), loaded on first use: the script text crosses the network once
 * per server instead of on every call. A `NOSCRIPT` reply (server restarted, `SCRIPT FLUSH`, failover) falls back
 * to `EVAL`, which loads it again.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One script. */
export class LuaScript {
  readonly sha1: string;
  constructor(readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script.
   * @param keys the KEYS (all in one cluster slot).
   * @param args the ARGV.
   * @returns the script's reply, as ioredis decodes it.
   */
  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.runFlat(redis, keys.length, [...keys, ...args]);
  }

  /**
   * {@link run} with KEYS and ARGV in one array, `keysThenArgs`, whose first `keyCount` items are the KEYS.
   * @returns the script's reply, as ioredis decodes it.
   */
  async runFlat(redis: Redis, keyCount: number, keysThenArgs: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keyCount, ...keysThenArgs);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return redis.eval(this.source, keyCount, ...keysThenArgs);
      throw err;
    }
  }
}
