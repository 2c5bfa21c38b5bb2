/**
 * Stand-ins for one test file: Redis (shared server, own key prefix; or a server of its own), and on request
 * s3rver (optionally behind the bucket-configuration stand-in), Azurite, the ECS / Application Auto Scaling emulator
 * and the Azure AI inference emulator on free loopback ports. `close()` stops what it started and deletes every Redis key under
 * the file's prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix, spawnRedis, startRedis, type RedisStandIn } from '../../devstack/standins/redis.ts';
import { startS3, type S3StandIn } from '../../devstack/standins/s3.ts';
import { startAzurite, type BlobStandIn } from '../../devstack/standins/azurite.ts';
import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from '../../devstack/emulators/aws/index.ts';
import { startAiEmulator, type AiEmulator, type AiEmulatorOptions } from '../../devstack/emulators/azure-ai/index.ts';

/** What a test file needs. */
export interface TestStackOptions {
  /**
   * `dedicated`: a redis-server spawned for this file alone, which the file may pause, fill or break (CLIENT PAUSE,
   * CONFIG SET maxmemory) and which `close()` stops. @defaultValue 'shared' (REDIS_URL or the local server)
   */
  redis?: 'shared' | 'dedicated';
  /** Start s3rver with these buckets. */
  s3Buckets?: string[];
  /** Put the S3 bucket-configuration stand-in in front of s3rver (see devstack/standins/s3.ts). */
  s3BucketConfig?: boolean | { newBucketDefaults: boolean };
  /** Start Azurite. */
  blob?: boolean;
  /** Start the ECS / Application Auto Scaling emulator (`true` for the defaults). */
  aws?: boolean | AwsEmulatorOptions;
  /** Start the Azure AI inference emulator with these models and options. */
  ai?: AiEmulatorOptions;
}

/** The running stand-ins of one test file. */
export interface TestStack {
  redisUrl: string;
  /** Unique per test file run: `t-<name>-<random>`. Use it as REDIS_KEY_PREFIX / BullMQ prefix. */
  keyPrefix: string;
  s3?: S3StandIn;
  blob?: BlobStandIn;
  /** The AWS emulator, when `aws` was asked for; point ECS_ENDPOINT / APPLICATION_AUTOSCALING_ENDPOINT at `endpoint`. */
  aws?: AwsEmulator;
  /** The AI emulator, when `ai` was asked for; its `endpoint` is the Foundry-shaped `…/models` URL. */
  ai?: AiEmulator;
  close(): Promise<void>;
}

/**
 * @param name short name of the test file, part of the key prefix.
 */
export async function startTestStack(name: string, o: TestStackOptions = {}): Promise<TestStack> {
  const [redis, s3, blob, aws, ai] = await Promise.all([
    o.redis === 'dedicated' ? spawnRedis() : startRedis(process.env.REDIS_URL),
    o.s3Buckets ? startS3(o.s3Buckets, { ...(o.s3BucketConfig !== undefined ? { bucketConfig: o.s3BucketConfig } : {}) }) : Promise.resolve(undefined),
    o.blob ? startAzurite() : Promise.resolve(undefined),
    o.aws ? startAwsEmulator(o.aws === true ? {} : o.aws) : Promise.resolve(undefined),
    o.ai ? startAiEmulator(o.ai) : Promise.resolve(undefined),
  ]);
  const keyPrefix = `t-${name}-${randomBytes(4).toString('hex')}`;
  return {
    redisUrl: redis.url,
    keyPrefix,
    ...(s3 ? { s3 } : {}),
    ...(blob ? { blob } : {}),
    ...(aws ? { aws } : {}),
    ...(ai ? { ai } : {}),
    close: async () => {
      await cleanupPrefix(redis, keyPrefix);
      await Promise.all([s3?.close(), blob?.close(), aws?.close(), ai?.close()]);
      await redis.close();
    },
  };
}

async function cleanupPrefix(redis: RedisStandIn, prefix: string): Promise<void> {
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    await deleteKeysWithPrefix(r, prefix);
  } finally {
    r.disconnect();
  }
}
