/**
 * The API as a Koa application, built from injected collaborators so tests and the demo can run it on any port
 * against any Redis, S3 and key source.
 *
 * Middleware order, outermost first (each file holds one concern):
 * 1. errors: every failure becomes the error envelope (must be first, so nothing escapes it);
 * 2. request-id: `X-Request-Id` and the per-request logger;
 * 3. client-address: the client's IP, from X-Forwarded-For only behind a trusted proxy;
 * 4. access-log and metrics: one log line and one observation per request once the response is done;
 * 5. security-headers;
 * 6. rate-limit (anonymous): the client-address limit on open paths and on failed authentication;
 * 7. auth: bearer JWT on everything but /healthz and /readyz;
 * 8. rate-limit (authenticated): the tenant and token limits;
 * 9. body: JSON only, size-limited (after auth and limits, so anonymous or throttled bodies are never read);
 * 10. the router, then its 405/501 handling (turned into envelopes by errors).
 *
 * Koa's `app.proxy` stays off: the API never reads `ctx.ip`, `ctx.protocol` or `ctx.host`, and takes the client
 * address from client-address.ts instead (see there why).
 */
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { AnalysisStore } from '../analyses/store.ts';
import type { AnalysisJobData } from '../analyses/types.ts';
import { UsageLedger } from '../ai/usage-ledger.ts';
import type { TokenVerifier } from './auth/jwt-verifier.ts';
import type { ApiRouter, ApiState } from './context.ts';
import { cachingVerifier } from './auth/verified-token-cache.ts';
import { parseTrustedProxies } from './client-address.ts';
import { redisDriftReportReader, type DriftReportReader } from './drift-reports.ts';
import { ApiMetrics } from './metrics.ts';
import { accessLog } from './middleware/access-log.ts';
import { authenticate, OPEN_PATHS } from './middleware/auth.ts';
import { jsonBody } from './middleware/body.ts';
import { clientAddressOf } from './middleware/client-address.ts';
import { errors } from './middleware/errors.ts';
import { recordMetrics } from './middleware/metrics.ts';
import { limitAnonymous, limitAuthenticated } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { loadOpenApiDocument, RequestValidators, type OpenApiDocument } from './openapi.ts';
import { RateLimits } from './rate-limits.ts';
import { mountAnalysisRoutes } from './routes/analyses.ts';
import { mountDriftRoutes } from './routes/drift.ts';
import { mountHealthRoutes } from './routes/health.ts';
import { mountOpenApiRoute } from './routes/openapi-document.ts';
import { mountTrendRoutes } from './routes/trends.ts';
import { mountUploadRoutes } from './routes/uploads.ts';
import { mountUsageRoutes } from './routes/usage.ts';

/** The configuration the API reads (field names are the environment variable names). */
export type ApiConfig = Pick<
  Config,
  | 'APP_PROFILE'
  | 'REDIS_KEY_PREFIX'
  | 'API_BODY_LIMIT_BYTES'
  | 'VIDEO_MAX_BYTES'
  | 'JOB_ATTEMPTS'
  | 'API_RATE_LIMIT_PER_TENANT_PER_MIN'
  | 'API_RATE_LIMIT_PER_TOKEN_PER_MIN'
  | 'API_RATE_LIMIT_PER_CLIENT_PER_MIN'
  | 'API_TRUSTED_PROXIES'
>;

/** Everything the API talks to. */
export interface ApiDeps {
  config: ApiConfig;
  /**
   * Producer connection (`createRedis(url, 'producer')`, main.ts adds auto-pipelining): fails fast while Redis is
   * down, which becomes 503. Used for rate limits, health, drift, usage and erasure.
   */
  redis: Redis;
  /** The analysis queue (services/analyses/queue.ts `createAnalysisQueue`), on its own plain producer connection in main.ts. */
  queue: Queue<AnalysisJobData>;
  store: AnalysisStore;
  s3: S3Client;
  /** The temp bucket for uploads (S3_TEMP_BUCKET). */
  bucket: string;
  /** Root logger; each request logs through a child carrying its request id. */
  logger: Logger;
  /** Bearer token verifier (auth/jwt-verifier.ts `createJwtVerifier`); the app puts auth/verified-token-cache.ts in front. */
  verifier: TokenVerifier;
  /** Source of `GET /v1/drift`. @defaultValue the Redis key `<REDIS_KEY_PREFIX>:drift:latest` on `redis` */
  driftReports?: DriftReportReader;
  /** The OpenAPI document. @defaultValue schemas/openapi.yaml */
  document?: OpenApiDocument;
  /**
   * The keyframes container (KEYFRAMES_CONTAINER), for GDPR erasure of keyframe blobs. Without it
   * `DELETE /v1/analyses/{id}` answers 503 `erasure_unavailable` and erases nothing.
   */
  keyframes?: ContainerClient;
  /** Where the metrics go. @defaultValue a fresh ApiMetrics without process metrics */
  metrics?: ApiMetrics;
  /** The AI usage counters `GET /v1/usage` reads. @defaultValue a UsageLedger on `redis` and REDIS_KEY_PREFIX */
  usage?: UsageLedger;
}

/** One route of the router: what the route-list walkers in tests and the OpenAPI parity check iterate. */
export interface RouteInfo {
  /** The route's name, equal to its OpenAPI operationId. */
  name: string;
  /** Upper-case method (HEAD, which the router adds to every GET, is left out). */
  method: string;
  /** Router path, e.g. `/v1/analyses/:id`. */
  path: string;
}

/** The built application. */
export interface ApiApp {
  /** Pass `app.callback()` to an HTTP server (see http-server.ts). */
  app: Koa<ApiState>;
  /** Every route the router serves. */
  routes: readonly RouteInfo[];
  /** The OpenAPI document the app validates against and serves. */
  document: OpenApiDocument;
  /** The app's metrics; serve them with metrics-server.ts. */
  metrics: ApiMetrics;
}

/** Lists the router's routes, one entry per method. */
export function listRoutes(router: ApiRouter): RouteInfo[] {
  return router.stack
    .filter((layer) => layer.methods.length > 0)
    .flatMap((layer) =>
      layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ name: layer.name ?? '', method, path: String(layer.path) })),
    );
}

/**
 * Builds the app. Compiles the request validators from the OpenAPI document, so a route whose operation is missing
 * from the document fails here, at start-up.
 * @throws Error when the document cannot be read or compiled, or names no operation for a route; ValidationError
 *   (`invalid_config`) when API_TRUSTED_PROXIES holds an entry that is not an IP or CIDR.
 */
export function createApp(deps: ApiDeps): ApiApp {
  const document = deps.document ?? loadOpenApiDocument();
  const validators = new RequestValidators(document);
  const { config } = deps;
  const trustedProxies = parseTrustedProxies(config.API_TRUSTED_PROXIES);
  const metrics = deps.metrics ?? new ApiMetrics();
  const limits = new RateLimits(deps.redis, config.REDIS_KEY_PREFIX, {
    perTenantPerMin: config.API_RATE_LIMIT_PER_TENANT_PER_MIN,
    perTokenPerMin: config.API_RATE_LIMIT_PER_TOKEN_PER_MIN,
    perClientPerMin: config.API_RATE_LIMIT_PER_CLIENT_PER_MIN,
  });
  const onLimited = (limiter: Parameters<ApiMetrics['rejected']>[0]): void => metrics.rejected(limiter);

  // Case-sensitive matching: `/V1/…` must not reach a `/v1/…` handler by a different spelling.
  const router: ApiRouter = new Router<ApiState>({ sensitive: true });
  mountHealthRoutes(router, { redis: deps.redis });
  mountOpenApiRoute(router, document);
  mountUploadRoutes(router, validators, { s3: deps.s3, bucket: deps.bucket, maxVideoBytes: config.VIDEO_MAX_BYTES });
  mountAnalysisRoutes(router, validators, {
    s3: deps.s3,
    bucket: deps.bucket,
    store: deps.store,
    queue: deps.queue,
    jobAttempts: config.JOB_ATTEMPTS,
    maxVideoBytes: config.VIDEO_MAX_BYTES,
    redis: deps.redis,
    prefix: config.REDIS_KEY_PREFIX,
    ...(deps.keyframes ? { keyframes: deps.keyframes } : {}),
  });
  mountTrendRoutes(router, validators, deps.store);
  mountUsageRoutes(router, validators, deps.usage ?? new UsageLedger(deps.redis, config.REDIS_KEY_PREFIX));
  mountDriftRoutes(router, deps.driftReports ?? redisDriftReportReader(deps.redis, config.REDIS_KEY_PREFIX));

  const app = new Koa<ApiState>();
  // Errors never escape middleware/errors.ts; this only sees failures after the headers went out.
  app.on('error', (err: unknown) => deps.logger.error({ err }, 'koa error after response started'));
  app.use(errors(deps.logger));
  app.use(requestId(deps.logger));
  app.use(clientAddressOf(trustedProxies));
  app.use(accessLog(deps.logger));
  app.use(recordMetrics(metrics));
  app.use(securityHeaders({ hsts: config.APP_PROFILE !== 'dev' }));
  app.use(limitAnonymous(limits, OPEN_PATHS, onLimited));
  app.use(authenticate(cachingVerifier(deps.verifier), OPEN_PATHS));
  app.use(limitAuthenticated(limits, onLimited));
  app.use(jsonBody({ limitBytes: config.API_BODY_LIMIT_BYTES }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, routes: listRoutes(router), document, metrics };
}
