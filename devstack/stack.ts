/**
 * The whole local stand-in stack for `npm run demo` and `npm run bench`: Redis, s3rver (behind the S3
 * bucket-configuration stand-in), Azurite, the ECS + Application Auto Scaling + CloudWatch emulator and the Azure
 * AI inference emulator, on loopback and free ports, plus the environment variables that point the engine's
 * processes at them.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix, startRedis, type RedisStandIn } from './standins/redis.ts';
import { startS3, S3RVER_CREDENTIALS, type S3StandIn } from './standins/s3.ts';
import { startAzurite, type BlobStandIn } from './standins/azurite.ts';
import { startAwsEmulator, type AwsEmulator } from './emulators/aws/index.ts';
import { startAiEmulator, type AiEmulator } from './emulators/azure-ai/index.ts';

/** The models the AI emulator serves: the ones `desired-state/dev.yml` declares. */
export const DEMO_MODELS = [
  { name: 'Llama-3.2-90B-Vision-Instruct', provider: 'Meta', vision: true },
  { name: 'DeepSeek-R1', provider: 'DeepSeek', reasoning: true },
] as const;

/** Options of {@link startDevStack}. */
export interface DevStackOptions {
  /** S3 temp bucket to create. @defaultValue 'content-trends-dev-temp' */
  bucket?: string;
  /** Fixed latency of every AI emulator answer, ms. @defaultValue 0 */
  aiLatencyMs?: number;
}

/** The running stand-ins. */
export interface DevStack {
  redis: RedisStandIn;
  s3: S3StandIn;
  blob: BlobStandIn;
  aws: AwsEmulator;
  ai: AiEmulator;
  bucket: string;
  /** A fresh key prefix, so a run never sees another run's keys. */
  keyPrefix: string;
  /** Key the AI emulator accepts (generated per run). */
  aiApiKey: string;
  /** Environment variables for the engine's processes (dev profile), without role-specific ones. */
  env: Record<string, string>;
  /** Stops everything, in reverse order. */
  close(): Promise<void>;
}

/** Starts every stand-in in parallel. @throws when one fails to start (the others are stopped first). */
export async function startDevStack(o: DevStackOptions = {}): Promise<DevStack> {
  const bucket = o.bucket ?? 'content-trends-dev-temp';
  const aiApiKey = randomBytes(16).toString('hex');
  const started = await Promise.allSettled([
    startRedis(process.env.REDIS_URL),
    startS3([bucket], { bucketConfig: true }), // s3rver behind the bucket-configuration stand-in (lifecycle, encryption, public access block, policy)
    startAzurite(),
    startAwsEmulator({}),
    startAiEmulator({ models: DEMO_MODELS.map((m) => ({ ...m })), apiKeys: [aiApiKey], latencyMs: o.aiLatencyMs ?? 0 }),
  ]);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(
      started.map((s) => (s.status === 'fulfilled' ? s.value.close().catch(() => undefined) : undefined)),
    );
    throw failed.reason;
  }
  const [redis, s3, blob, aws, ai] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [RedisStandIn, S3StandIn, BlobStandIn, AwsEmulator, AiEmulator];
  const keyPrefix = `demo-${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    APP_PROFILE: 'dev',
    LOG_LEVEL: 'info',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: keyPrefix,
    AWS_REGION: aws.region,
    // s3rver accepts only its fixed development key pair (S3RVER/S3RVER, public); the ECS emulator accepts any.
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_TEMP_BUCKET: bucket,
    ECS_ENDPOINT: aws.endpoint,
    APPLICATION_AUTOSCALING_ENDPOINT: aws.endpoint,
    // The reconciler publishes ContentTrends/QueueDepthPerTask here (the emulator's CloudWatch PutMetricData).
    CLOUDWATCH_ENDPOINT: aws.endpoint,
    AZURE_STORAGE_CONNECTION_STRING: blob.connectionString,
    KEYFRAMES_CONTAINER: 'keyframes',
    AI_FOUNDRY_ENDPOINT: ai.endpoint,
    AI_AUTH: 'key',
    AZURE_AI_API_KEY: aiApiKey,
  };
  return {
    redis, s3, blob, aws, ai, bucket, keyPrefix, aiApiKey, env,
    close: async () => {
      await Promise.allSettled([ai.close(), aws.close(), blob.close(), s3.close()]);
      // A shared Redis (the machine's, or REDIS_URL) keeps nothing of this stack: every key under its prefix goes.
      if (!redis.spawned) {
        const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await deleteKeysWithPrefix(client, `${keyPrefix}:`);
        } finally {
          client.disconnect();
        }
      }
      await redis.close();
    },
  };
}
