/**
 * Entry point of the `api` role: `npm run start:api`.
 *
 * Reads the configuration (exit 78 on a bad one), connects to Redis with a fail-fast producer connection
 * (`enableOfflineQueue: false`: while Redis is down, requests fail at once with 503 instead of hanging), waits until
 * Redis is reachable before creating the queue (BullMQ needs Redis at construction; bullmq-notes.md "Connections"),
 * listens on API_HOST:API_PORT, and on SIGTERM/SIGINT stops accepting, finishes in-flight requests within
 * SHUTDOWN_GRACE_MS, then closes the queue and Redis and exits 0.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfigOrExit, redactedConfig, type Config } from '../platform/config.ts';
import { errorMessage } from '../platform/errors.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { createRedis, waitReady } from '../platform/redis.ts';
import { createS3Client } from '../platform/aws.ts';
import { AnalysisStore } from '../analyses/store.ts';
import { createAnalysisQueue } from '../analyses/queue.ts';
import { createApp } from './app.ts';
import { createJwtVerifier, parseAlgorithms } from './auth/jwt-verifier.ts';
import { listen } from './http-server.ts';

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

async function main(): Promise<void> {
  const config = loadConfigOrExit('api');
  const log = createLogger('api', config.LOG_LEVEL);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  log.info({ config: redactedConfig(config) }, 'starting');

  const redis = createRedis(config.REDIS_URL, 'producer');
  logConnectionErrors(redis, log, 'redis');
  try {
    await waitReady(redis, REDIS_STARTUP_TIMEOUT_MS);
  } catch (err) {
    log.fatal({ reason: errorMessage(err) }, 'redis is not reachable at start-up');
    redis.disconnect();
    process.exit(1);
  }
  const queue = createAnalysisQueue(redis, config.REDIS_KEY_PREFIX, config.QUEUE_NAME);
  queue.on('error', () => undefined); // the connection's own listener above already logs these
  const store = new AnalysisStore(redis, config.REDIS_KEY_PREFIX);
  const s3 = createS3Client(config);
  const verifier = createJwtVerifier({
    issuer: required(config, 'AUTH_JWT_ISSUER'),
    audience: required(config, 'AUTH_JWT_AUDIENCE'),
    algorithms: parseAlgorithms(config.AUTH_JWT_ALGORITHMS),
    ...(config.AUTH_JWKS_URL ? { jwksUrl: config.AUTH_JWKS_URL } : { publicKeyPem: required(config, 'AUTH_JWT_PUBLIC_KEY') }),
  });
  const { app } = createApp({ config, redis, queue, store, s3, bucket: required(config, 'S3_TEMP_BUCKET'), logger: log, verifier });
  const server = await listen(app.callback(), { host: config.API_HOST, port: config.API_PORT });
  log.info({ url: server.url, port: server.port }, 'listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inFlight: server.inFlight(), graceMs: config.SHUTDOWN_GRACE_MS }, 'stopping');
    const { cutRequests } = await server.close(config.SHUTDOWN_GRACE_MS);
    // queue.close() can hang while Redis is unreachable (bullmq#4656, bullmq-notes.md "Graceful shutdown"): bound it.
    const closed = queue.close().then(
      () => true,
      (err: unknown) => {
        log.warn({ err }, 'queue close failed');
        return true;
      },
    );
    if (!(await Promise.race([closed, delay(QUEUE_CLOSE_TIMEOUT_MS, false)]))) log.warn({ timeoutMs: QUEUE_CLOSE_TIMEOUT_MS }, 'queue close timed out');
    await redis.quit().catch(() => redis.disconnect());
    s3.destroy();
    log.info({ cutRequests }, 'stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

await main();
