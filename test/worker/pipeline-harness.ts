/**
 * Everything a worker test needs around the pipeline: stand-ins (Redis, s3rver, Azurite) from startTestStack, the
 * real SDK clients pointed at them, the analysis store and queue, a private WORK_DIR, and helpers to submit a
 * video the way the API does (S3 upload, record, job) and to wait for its outcome.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { createS3Client } from '../../services/platform/aws.ts';
import { createBlobServiceClient } from '../../services/platform/blob.ts';
import { createRedis } from '../../services/platform/redis.ts';
import { createLogger, type Logger } from '../../services/platform/logger.ts';
import { AnalysisStore } from '../../services/analyses/store.ts';
import { ContentIndex } from '../../services/analyses/content-index.ts';
import { ContentClaims } from '../../services/worker/content-claim.ts';
import { ANALYSIS_JOB_NAME, analysisJobOptions, createAnalysisQueue } from '../../services/analyses/queue.ts';
import type { AnalysisJobData, AnalysisOptions, AnalysisRecord } from '../../services/analyses/types.ts';
import type { AiCoordinator } from '../../services/ai/types.ts';
import { DEFAULT_VIDEO_LIMITS } from '../../services/media/probe.ts';
import type { PipelineDeps, PipelineLimits } from '../../services/worker/pipeline.ts';
import { fixtureDir } from '../media/media-fixtures.ts';

export const BUCKET = 'ct-test-videos';
export const CONTAINER = 'keyframes';

/** The running harness. */
export interface Harness {
  stack: TestStack;
  s3: S3Client;
  container: ContainerClient;
  store: AnalysisStore;
  contents: ContentIndex;
  /** Claims with a 3 s lease and a 200 ms wait. */
  claims: ContentClaims;
  /** A general-purpose connection (the store's). */
  redis: Redis;
  workDir: string;
  logger: Logger;
  limits: PipelineLimits;
  deps(ai: AiCoordinator, o?: Partial<PipelineLimits>): PipelineDeps;
  /** Opens a queue (producer connection) named `name`. */
  queue(name: string): Queue<AnalysisJobData>;
  /** Uploads bytes to the temp bucket; returns the key. */
  upload(body: Buffer): Promise<string>;
  /** Creates the record and enqueues the job, as the API does; returns the analysis id. */
  submit(queue: Queue<AnalysisJobData>, videoKey: string, o?: { attempts?: number; options?: AnalysisOptions; tenantId?: string }): Promise<string>;
  /**
   * Polls until the record is `succeeded` or `failed` and the job has left BullMQ's active state (the record is
   * written before cleanup ends; the job finishes after it).
   */
  waitFinal(queue: Queue<AnalysisJobData>, id: string, timeoutMs?: number): Promise<AnalysisRecord>;
  s3Exists(key: string): Promise<boolean>;
  blobNames(prefix: string): Promise<string[]>;
  workDirEntries(): Promise<string[]>;
  close(): Promise<void>;
}

/** MD5 of bytes, base64 (Azure's Content-MD5 form). */
export function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('base64');
}

/** Starts the stand-ins and clients. */
export async function startHarness(name: string): Promise<Harness> {
  // The SDK's default credential chain needs something; s3rver accepts any signature.
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  const stack = await startTestStack(name, { s3Buckets: [BUCKET], blob: true });
  const s3 = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: stack.s3!.endpoint, S3_FORCE_PATH_STYLE: true });
  const blobService = createBlobServiceClient({ AZURE_STORAGE_CONNECTION_STRING: stack.blob!.connectionString });
  const container = blobService.getContainerClient(CONTAINER);
  await container.createIfNotExists();
  const redis = createRedis(stack.redisUrl, 'general');
  const store = new AnalysisStore(redis, stack.keyPrefix, 3600);
  const contents = new ContentIndex(redis, stack.keyPrefix, 3600);
  const claims = new ContentClaims(redis, stack.keyPrefix, { leaseMs: 3000, retryDelayMs: 200 });
  const work = await fixtureDir(`${name}-work`);
  const logger = createLogger(`test-${name}`, process.env.TEST_LOG_LEVEL ?? 'silent');
  const limits: PipelineLimits = {
    video: DEFAULT_VIDEO_LIMITS,
    maxKeyframes: 8,
    visionConcurrency: 3,
    uploadConcurrency: 3,
    probeTimeoutMs: 15_000,
    ffmpegTimeoutMs: 60_000,
  };
  const queues: Queue[] = [];
  const producers: Redis[] = [];
  const h: Harness = {
    stack, s3, container, store, contents, claims, redis, workDir: work.dir, logger, limits,
    deps: (ai, o = {}) => ({ s3, bucket: BUCKET, keyframes: container, ai, store, contents, claims, logger, limits: { ...limits, ...o }, workDir: work.dir }),
    queue: (qname) => {
      const conn = createRedis(stack.redisUrl, 'producer');
      producers.push(conn);
      const q = createAnalysisQueue(conn, stack.keyPrefix, qname);
      queues.push(q);
      return q;
    },
    upload: async (body) => {
      const key = `uploads/${randomUUID()}.mp4`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'video/mp4' }));
      return key;
    },
    submit: async (queue, videoKey, o = {}) => {
      const tenantId = o.tenantId ?? 'tenant-a';
      const { record } = await store.create({ tenantId, videoKey, tier: 'pro', options: o.options ?? {} });
      await queue.add(ANALYSIS_JOB_NAME, { analysisId: record.id, tenantId, videoKey, options: o.options ?? {} }, {
        ...analysisJobOptions(o.attempts ?? 3),
        backoff: { type: 'exponential', delay: 200 },
        jobId: record.id,
        priority: 5,
      });
      return record.id;
    },
    waitFinal: async (queue, id, timeoutMs = 90_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await store.get(id);
        const state = await queue.getJobState(id);
        if (r && (r.status === 'succeeded' || r.status === 'failed') && (state === 'completed' || state === 'failed')) return r;
        if (Date.now() > until) throw new Error(`analysis ${id} not final after ${timeoutMs} ms: ${JSON.stringify(r?.progress)} ${r?.status}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    s3Exists: async (key) => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
        return true;
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    },
    blobNames: async (prefix) => {
      const names: string[] = [];
      for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
      return names.sort();
    },
    workDirEntries: () => readdir(work.dir),
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
      producers.forEach((p) => p.disconnect());
      redis.disconnect();
      s3.destroy();
      await stack.close();
      await work.cleanup();
    },
  };
  return h;
}

/** Reads a file (for uploads of generated clips and samples). */
export function bytesOf(path: string): Promise<Buffer> {
  return readFile(path);
}
