/**
 * Stand-ins for one test file: Redis (shared server, own key prefix), and on request s3rver and Azurite on
 * free loopback ports. `close()` stops what it started and deletes every Redis key under the file's prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedis, type RedisStandIn } from '../../devstack/standins/redis.ts';
import { startS3, type S3StandIn } from '../../devstack/standins/s3.ts';
import { startAzurite, type BlobStandIn } from '../../devstack/standins/azurite.ts';

/** What a test file needs. */
export interface TestStackOptions {
  /** Start s3rver with these buckets. */
  s3Buckets?: string[];
  /** Start Azurite. */
  blob?: boolean;
}

/** The running stand-ins of one test file. */
export interface TestStack {
  redisUrl: string;
  /** Unique per test file run: `t-<name>-<random>`. Use it as REDIS_KEY_PREFIX / BullMQ prefix. */
  keyPrefix: string;
  s3?: S3StandIn;
  blob?: BlobStandIn;
  close(): Promise<void>;
}

/**
 * @param name short name of the test file, part of the key prefix.
 */
export async function startTestStack(name: string, o: TestStackOptions = {}): Promise<TestStack> {
  const [redis, s3, blob] = await Promise.all([
    startRedis(process.env.REDIS_URL),
    o.s3Buckets ? startS3(o.s3Buckets) : Promise.resolve(undefined),
    o.blob ? startAzurite() : Promise.resolve(undefined),
  ]);
  const keyPrefix = `t-${name}-${randomBytes(4).toString('hex')}`;
  return {
    redisUrl: redis.url,
    keyPrefix,
    ...(s3 ? { s3 } : {}),
    ...(blob ? { blob } : {}),
    close: async () => {
      await cleanupPrefix(redis, keyPrefix);
      await Promise.all([s3?.close(), blob?.close()]);
      await redis.close();
    },
  };
}

async function cleanupPrefix(redis: RedisStandIn, prefix: string): Promise<void> {
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
