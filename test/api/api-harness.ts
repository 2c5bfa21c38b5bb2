/**
 * Test harness of the API: the real app on a free loopback port with real Redis, s3rver, BullMQ and a dev issuer
 * (and, on request, Azurite with the keyframes container), configured through the real config loader, with every
 * log line captured for assertions.
 */
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { createDevIssuer, type DevIssuer, type DevTokenClaims, type MintOptions } from '../../devstack/dev-keys.ts';
import { loadConfig, type Config } from '../../services/platform/config.ts';
import { createLogger } from '../../services/platform/logger.ts';
import { createRedis, waitReady } from '../../services/platform/redis.ts';
import { createS3Client } from '../../services/platform/aws.ts';
import { createBlobServiceClient } from '../../services/platform/blob.ts';
import { AnalysisStore } from '../../services/analyses/store.ts';
import { createAnalysisQueue } from '../../services/analyses/queue.ts';
import type { AnalysisJobData } from '../../services/analyses/types.ts';
import { createApp, type ApiApp } from '../../services/api/app.ts';
import { createJwtVerifier, parseAlgorithms, type TokenVerifier } from '../../services/api/auth/jwt-verifier.ts';
import { listen, type RunningServer } from '../../services/platform/http-server.ts';

/** The temp bucket every API test uses. */
export const TEST_BUCKET = 'ct-test-temp';
/** Body limit of the test app, bytes (the schema's minimum is 1024). */
export const TEST_BODY_LIMIT_BYTES = 2048;
/** Video size limit of the test app, bytes. */
export const TEST_VIDEO_MAX_BYTES = 1_048_576;

/** A response, body parsed as JSON when it is JSON. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Options of {@link startApiHarness}. */
export interface HarnessOptions {
  /** Extra environment for the config loader (e.g. AUTH_JWKS_URL). */
  env?: Record<string, string>;
  /** Use this Redis URL for the app instead of the stack's (e.g. a closed port). */
  appRedisUrl?: string;
  /** Replace the verifier built from the config. */
  verifier?: TokenVerifier;
  /** Use this issuer instead of a fresh one (e.g. one whose key a JWKS server already serves). */
  issuer?: DevIssuer;
  /** Start Azurite and give the app the keyframes container (needed by DELETE /v1/analyses/{id}). */
  blob?: boolean;
}

/** A running API under test. */
export interface ApiHarness {
  stack: TestStack;
  issuer: DevIssuer;
  config: Config;
  api: ApiApp;
  server: RunningServer;
  baseUrl: string;
  redis: Redis;
  queue: Queue<AnalysisJobData>;
  store: AnalysisStore;
  s3: S3Client;
  /** The keyframes container, when started with `blob: true`. */
  keyframes?: ContainerClient;
  /** Every log line the app wrote, in order. */
  logs: string[];
  /** Mints a token of tenant `tenant_id` (default `acme`) with `scope`. */
  token(scope: string, claims?: Partial<DevTokenClaims>, opts?: MintOptions): Promise<string>;
  /** Resolves with the first parsed log line matching `predicate`, waiting up to 5 s for it to be written. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Sends a request; `body` is JSON-encoded unless it is a string or Buffer. */
  call(method: string, path: string, o?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** Captures pino's output line by line. */
function logSink(lines: string[]): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.length > 0));
      done();
    },
  });
}

/**
 * Starts the stand-ins and the app.
 * @param name short test-file name (part of the Redis key prefix).
 */
export async function startApiHarness(name: string, o: HarnessOptions = {}): Promise<ApiHarness> {
  const stack = await startTestStack(name, { s3Buckets: [TEST_BUCKET], s3BucketConfig: true, ...(o.blob ? { blob: true } : {}) });
  // s3rver's development key: the S3 stand-in checks presigned URLs signed with it as S3 does (signed headers included).
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  const issuer = o.issuer ?? (await createDevIssuer());
  const config = loadConfig('api', {
    REDIS_URL: o.appRedisUrl ?? stack.redisUrl,
    REDIS_KEY_PREFIX: stack.keyPrefix,
    S3_TEMP_BUCKET: TEST_BUCKET,
    S3_ENDPOINT: stack.s3?.endpoint ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    AUTH_JWT_ISSUER: issuer.issuer,
    AUTH_JWT_AUDIENCE: issuer.audience,
    AUTH_JWT_PUBLIC_KEY: issuer.publicKeyPem,
    AUTH_JWT_ALGORITHMS: 'ES256',
    API_BODY_LIMIT_BYTES: String(TEST_BODY_LIMIT_BYTES),
    VIDEO_MAX_BYTES: String(TEST_VIDEO_MAX_BYTES),
    LOG_LEVEL: 'debug',
    API_METRICS_PORT: '0',
    ...(stack.blob ? { AZURE_STORAGE_CONNECTION_STRING: stack.blob.connectionString } : {}),
    ...o.env,
  });
  const logs: string[] = [];
  const logger = createLogger('api', config.LOG_LEVEL, logSink(logs));
  // As services/api/main.ts: an auto-pipelined connection for the app, a plain one for the queue.
  const redis = createRedis(config.REDIS_URL, 'producer', { enableAutoPipelining: true });
  const queueRedis = createRedis(config.REDIS_URL, 'producer');
  redis.on('error', () => undefined);
  queueRedis.on('error', () => undefined);
  if (!o.appRedisUrl) await Promise.all([waitReady(redis, 5000), waitReady(queueRedis, 5000)]);
  const queue = createAnalysisQueue(queueRedis, config.REDIS_KEY_PREFIX, config.QUEUE_NAME);
  queue.on('error', () => undefined);
  // As services/api/main.ts: records are kept RESULT_RETENTION_DAYS after their last write.
  const store = new AnalysisStore(redis, config.REDIS_KEY_PREFIX, config.RESULT_RETENTION_DAYS * 86_400);
  const s3 = createS3Client(config);
  let keyframes: ContainerClient | undefined;
  if (stack.blob) {
    keyframes = createBlobServiceClient(config).getContainerClient(config.KEYFRAMES_CONTAINER);
    await keyframes.createIfNotExists();
  }
  const verifier =
    o.verifier ??
    createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      algorithms: parseAlgorithms(config.AUTH_JWT_ALGORITHMS),
      ...(config.AUTH_JWKS_URL ? { jwksUrl: config.AUTH_JWKS_URL } : { publicKeyPem: issuer.publicKeyPem }),
    });
  const api = createApp({ config, redis, queue, store, s3, bucket: TEST_BUCKET, logger, verifier, ...(keyframes ? { keyframes } : {}) });
  const server = await listen(api.app.callback(), { host: '127.0.0.1', port: 0 });
  const baseUrl = server.url;

  return {
    stack,
    issuer,
    config,
    api,
    server,
    baseUrl,
    redis,
    queue,
    store,
    s3,
    ...(keyframes ? { keyframes } : {}),
    logs,
    token: (scope, claims = {}, opts) => issuer.mint({ sub: 'user-1', tenant_id: 'acme', scope, ...claims }, opts),
    async waitForLog(predicate) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const hit = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find(predicate);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error('no matching log line within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async call(method, path, c = {}) {
      const headers: Record<string, string> = { ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) };
      let body: string | Buffer | undefined;
      if (c.body !== undefined) {
        body = typeof c.body === 'string' || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers: { ...headers, ...c.headers }, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      await server.close(1000);
      await queue.close();
      redis.disconnect();
      queueRedis.disconnect();
      s3.destroy();
      await stack.close();
    },
  };
}

/** Narrows an envelope for assertions. */
export function errorOf(r: ApiResponse): { code: string; message: string; details?: { problems?: Array<{ where: string; message: string }> } & Record<string, unknown>; requestId: string } {
  const b = r.body as { error?: unknown } | undefined;
  if (!b || typeof b.error !== 'object' || b.error === null) throw new Error(`expected an error envelope, got ${r.status} ${r.text.slice(0, 300)}`);
  return b.error as ReturnType<typeof errorOf>;
}

/** The `data` of a success envelope. */
export function dataOf<T = Record<string, unknown>>(r: ApiResponse): T {
  const b = r.body as { data?: unknown } | undefined;
  if (!b || !('data' in b)) throw new Error(`expected a data envelope, got ${r.status} ${r.text.slice(0, 300)}`);
  return b.data as T;
}
