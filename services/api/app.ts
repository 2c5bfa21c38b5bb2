/**
 * The API as a Koa application, built from injected collaborators so tests and the demo can run it on any port
 * against any Redis, S3 and key source.
 *
 * Middleware order, outermost first (each file holds one concern):
 * 1. errors: every failure becomes the error envelope (must be first, so nothing escapes it);
 * 2. request-id: `X-Request-Id` and the per-request logger;
 * 3. access-log: one line per request once the response is done;
 * 4. security-headers;
 * 5. auth: bearer JWT on everything but /healthz and /readyz;
 * 6. body: JSON only, size-limited (after auth, so anonymous bodies are never read);
 * 7. the router, then its 405/501 handling (turned into envelopes by errors).
 */
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { AnalysisStore } from '../analyses/store.ts';
import type { AnalysisJobData } from '../analyses/types.ts';
import type { TokenVerifier } from './auth/jwt-verifier.ts';
import type { ApiRouter, ApiState } from './context.ts';
import { redisDriftReportReader, type DriftReportReader } from './drift-reports.ts';
import { accessLog } from './middleware/access-log.ts';
import { authenticate } from './middleware/auth.ts';
import { jsonBody } from './middleware/body.ts';
import { errors } from './middleware/errors.ts';
import { requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { loadOpenApiDocument, RequestValidators, type OpenApiDocument } from './openapi.ts';
import { mountAnalysisRoutes } from './routes/analyses.ts';
import { mountDriftRoutes } from './routes/drift.ts';
import { mountHealthRoutes } from './routes/health.ts';
import { mountOpenApiRoute } from './routes/openapi-document.ts';
import { mountUploadRoutes } from './routes/uploads.ts';

/** The configuration the API reads (field names are the environment variable names). */
export type ApiConfig = Pick<Config, 'APP_PROFILE' | 'REDIS_KEY_PREFIX' | 'API_BODY_LIMIT_BYTES' | 'VIDEO_MAX_BYTES' | 'JOB_ATTEMPTS'>;

/** Everything the API talks to. */
export interface ApiDeps {
  config: ApiConfig;
  /** Producer connection (`createRedis(url, 'producer')`): fails fast while Redis is down, which becomes 503. */
  redis: Redis;
  /** The analysis queue on the same connection (services/analyses/queue.ts `createAnalysisQueue`). */
  queue: Queue<AnalysisJobData>;
  store: AnalysisStore;
  s3: S3Client;
  /** The temp bucket for uploads (S3_TEMP_BUCKET). */
  bucket: string;
  /** Root logger; each request logs through a child carrying its request id. */
  logger: Logger;
  /** Bearer token verifier (auth/jwt-verifier.ts `createJwtVerifier`). */
  verifier: TokenVerifier;
  /** Source of `GET /v1/drift`. @defaultValue the Redis key `<REDIS_KEY_PREFIX>:drift:latest` on `redis` */
  driftReports?: DriftReportReader;
  /** The OpenAPI document. @defaultValue schemas/openapi.yaml */
  document?: OpenApiDocument;
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
 * @throws Error when the document cannot be read or compiled, or names no operation for a route.
 */
export function createApp(deps: ApiDeps): ApiApp {
  const document = deps.document ?? loadOpenApiDocument();
  const validators = new RequestValidators(document);
  const { config } = deps;

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
  });
  mountDriftRoutes(router, deps.driftReports ?? redisDriftReportReader(deps.redis, config.REDIS_KEY_PREFIX));

  const app = new Koa<ApiState>();
  // Errors never escape middleware/errors.ts; this only sees failures after the headers went out.
  app.on('error', (err: unknown) => deps.logger.error({ err }, 'koa error after response started'));
  app.use(errors(deps.logger));
  app.use(requestId(deps.logger));
  app.use(accessLog());
  app.use(securityHeaders({ hsts: config.APP_PROFILE !== 'dev' }));
  app.use(authenticate(deps.verifier));
  app.use(jsonBody({ limitBytes: config.API_BODY_LIMIT_BYTES }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, routes: listRoutes(router), document };
}
