/**
 * Redis connections (ElastiCache in production, redis-server locally) through ioredis.
 *
 * BullMQ facts (reference/bullmq-notes.md, docs.bullmq.io "Going to production"):
 * - worker connections need `maxRetriesPerRequest: null` so blocking commands are retried forever;
 * - producer connections (the API) should fail fast with `enableOfflineQueue: false`, mapped to 503.
 * A `rediss://` URL turns TLS on.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** What the connection is for; decides retry behaviour. */
export type RedisPurpose = 'worker' | 'producer' | 'general';

/**
 * Opens a connection. The URL's password is never logged by this module.
 * @param url `redis://` or `rediss://` URL.
 * @param purpose `worker` (retry forever), `producer` (fail fast, for request handlers) or `general`.
 */
export function createRedis(url: string, purpose: RedisPurpose = 'general', extra: RedisOptions = {}): Redis {
  const base: RedisOptions =
    purpose === 'worker'
      ? { maxRetriesPerRequest: null }
      : purpose === 'producer'
        ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 }
        : { maxRetriesPerRequest: 3, connectTimeout: 5000 };
  return new Redis(url, { lazyConnect: false, ...base, ...extra });
}

/** Waits until the connection is ready, or throws after `timeoutMs` (ms). */
export async function waitReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
