/**
 * Entry point of the `api` role: `npm run start:api`.
 *
 * Reads the configuration (exit 78 on a bad one), connects to Redis with two fail-fast producer connections
 * (`enableOfflineQueue: false`: while Redis is down, requests fail at once with 503 instead of hanging): one for the
 * queue, and one for everything else (records, rate limits, reads) with ioredis auto-pipelining, which sends the
 * commands of one event-loop turn in one write (ioredis README, "Autopipelining"): under load that cut the
 * API's and Redis's CPU per request by a third in bench/api-load.ts. BullMQ keeps a plain connection (its users
 * reported job-data problems with auto-pipelining, bull#2276, bullmq#457). It waits until
 * Redis is reachable before creating the queue (BullMQ needs Redis at construction; bullmq-notes.md "Connections"),
 * opens the keyframes container when blob storage is configured (for GDPR erasure), listens on API_HOST:API_PORT
 * and serves Prometheus metrics on API_HOST:API_METRICS_PORT, and on SIGTERM/SIGINT stops accepting, finishes
 * in-flight requests within SHUTDOWN_GRACE_MS, then closes the queue and Redis and exits 0.
 *
 * Records are kept RESULT_RETENTION_DAYS after their last write (the worker's store must use the same value).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { EXIT_CONFIG, loadConfigOrExit, redactedConfig, type Config } from '../platform/config.ts';
import { errorMessage, ValidationError } from '../platform/errors.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { createRedis, waitReady } from '../platform/redis.ts';
import { createS3Client } from '../platform/aws.ts';
import { createBlobServiceClient } from '../platform/blob.ts';
import { isTokenCredential } from '@azure/core-auth';
import type { ContainerClient } from '@azure/storage-blob';
import { AnalysisStore } from '../analyses/store.ts';
import { createAnalysisQueue } from '../analyses/queue.ts';
import { createModelCredentialFromConfig } from '../platform/model-credentials.ts';
import { createApp } from './app.ts';
import { createJwtVerifier, parseAlgorithms } from './auth/jwt-verifier.ts';
import { listen } from '../platform/http-server.ts';
import { ApiMetrics } from './metrics.ts';
import { serveMetrics } from '../platform/metrics-server.ts';

/** How long shutdown waits for the queue to close, ms. */
const QUEUE_CLOSE_TIMEOUT_MS = 2000;

/** How long start-up waits for Redis before giving up, ms. */
const REDIS_STARTUP_TIMEOUT_MS = 15_000;

/** A variable the config schema requires for the api role; typed optional because other roles may omit it. */
function required<K extends keyof Config>(config: Config, name: K): NonNullable<Config[K]> {
  const value = config[name];
  if (value === undefined || value === null) throw new Error(`${String(name)} is required for the api role`);
  return value as NonNullable<Config[K]>;
}

/** Logs a connection's errors once per distinct message until it is ready again (ioredis repeats them per retry). */
function logConnectionErrors(emitter: { on(event: 'error', fn: (err: Error) => void): unknown; on(event: 'ready', fn: () => void): unknown }, log: Logger, what: string): void {
  let last = '';
  emitter.on('error', (err: Error) => {
    if (err.message === last) return;
    last = err.message;
    log.warn({ err }, `${what} connection error`);
  });
  emitter.on('ready', () => {
    if (last !== '') log.info(`${what} connection ready again`);
    last = '';
  });
}

/**
 * The keyframes container, when blob storage is configured (a connection string in dev, else the account URL with
 * the identity AI_AUTH names, as the worker does); `undefined` otherwise, which disables erasure (logged).
 */
function keyframesContainer(config: Config, log: Logger): ContainerClient | undefined {
  if (!config.AZURE_STORAGE_CONNECTION_STRING && !config.AZURE_STORAGE_ACCOUNT_URL) {
    log.warn('no AZURE_STORAGE_ACCOUNT_URL or AZURE_STORAGE_CONNECTION_STRING: DELETE /v1/analyses/{id} will answer 503 erasure_unavailable');
    return undefined;
  }
  const credential = config.AZURE_STORAGE_CONNECTION_STRING ? undefined : createModelCredentialFromConfig(config);
  return createBlobServiceClient(config, credential && isTokenCredential(credential) ? credential : undefined).getContainerClient(config.KEYFRAMES_CONTAINER);
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('api');
  const log = createLogger('api', config.LOG_LEVEL);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  log.info({ config: redactedConfig(config) }, 'starting');

  const redis = createRedis(config.REDIS_URL, 'producer', { enableAutoPipelining: true });
  const queueRedis = createRedis(config.REDIS_URL, 'producer');
  logConnectionErrors(redis, log, 'redis');
  logConnectionErrors(queueRedis, log, 'redis (queue)');
  try {
    await Promise.all([waitReady(redis, REDIS_STARTUP_TIMEOUT_MS), waitReady(queueRedis, REDIS_STARTUP_TIMEOUT_MS)]);
  } catch (err) {
    log.fatal({ reason: errorMessage(err) }, 'redis is not reachable at start-up');
    redis.disconnect();
    queueRedis.disconnect();
    process.exit(1);
  }
  const queue = createAnalysisQueue(queueRedis, config.REDIS_KEY_PREFIX, config.QUEUE_NAME);
  queue.on('error', () => undefined); // the connection's own listener above already logs these
  const store = new AnalysisStore(redis, config.REDIS_KEY_PREFIX, config.RESULT_RETENTION_DAYS * 86_400);
  const s3 = createS3Client(config);
  let keyframes: ContainerClient | undefined;
  try {
    keyframes = keyframesContainer(config, log);
  } catch (err) {
    log.fatal({ reason: errorMessage(err) }, 'keyframe storage is misconfigured');
    redis.disconnect();
    queueRedis.disconnect();
    process.exit(EXIT_CONFIG);
  }
  const metrics = new ApiMetrics({ defaultMetrics: true });
  const verifier = createJwtVerifier({
    issuer: required(config, 'AUTH_JWT_ISSUER'),
    audience: required(config, 'AUTH_JWT_AUDIENCE'),
    algorithms: parseAlgorithms(config.AUTH_JWT_ALGORITHMS),
    ...(config.AUTH_JWKS_URL ? { jwksUrl: config.AUTH_JWKS_URL } : { publicKeyPem: required(config, 'AUTH_JWT_PUBLIC_KEY') }),
  });
  let app: ReturnType<typeof createApp>['app'];
  try {
    ({ app } = createApp({ config, redis, queue, store, s3, bucket: required(config, 'S3_TEMP_BUCKET'), logger: log, verifier, metrics, ...(keyframes ? { keyframes } : {}) }));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    process.stderr.write(`${err.render()}\n`);
    process.exit(EXIT_CONFIG);
  }
  const server = await listen(app.callback(), { host: config.API_HOST, port: config.API_PORT });
  const metricsServer = await serveMetrics(metrics, log, config.API_HOST, config.API_METRICS_PORT);
  log.info({ url: server.url, port: server.port, metricsUrl: `${metricsServer.url}/metrics` }, 'listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inFlight: server.inFlight(), graceMs: config.SHUTDOWN_GRACE_MS }, 'stopping');
    const [{ cutRequests }] = await Promise.all([server.close(config.SHUTDOWN_GRACE_MS), metricsServer.close(1000)]);
    // queue.close() can hang while Redis is unreachable (bullmq#4656, bullmq-notes.md "Graceful shutdown"): bound it.
    const closed = queue.close().then(
      () => true,
      (err: unknown) => {
        log.warn({ err }, 'queue close failed');
        return true;
      },
    );
    if (!(await Promise.race([closed, delay(QUEUE_CLOSE_TIMEOUT_MS, false)]))) log.warn({ timeoutMs: QUEUE_CLOSE_TIMEOUT_MS }, 'queue close timed out');
    await Promise.all([redis.quit().catch(() => redis.disconnect()), queueRedis.quit().catch(() => queueRedis.disconnect())]);
    s3.destroy();
    log.info({ cutRequests }, 'stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

await main();
