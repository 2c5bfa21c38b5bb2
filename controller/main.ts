/**
 * The reconciler service (role `reconciler`): loads its configuration and checks DESIRED_STATE_FILE (exit 78 on
 * either, listing every problem), then runs the reconcile loop against
 * DESIRED_STATE_FILE with a leader lease in Redis, keeps report history in Redis, serves `/healthz`, `/drift`
 * and `/metrics` on RECONCILER_HOST:RECONCILER_PORT, publishes ContentTrends/ReconcileErrors and the worker's
 * queue-depth metric (RECONCILE_PUBLISH_QUEUE_METRIC) to CloudWatch after each pass of the leader
 * (controller/metrics-publisher/catalog.ts), logs one line per pass, and on SIGTERM / SIGINT finishes the
 * pass in flight, releases the lease and closes everything (forced exit after SHUTDOWN_GRACE_MS).
 *
 * Environment: see `schemas/runtime-config.schema.json` (REDIS_URL, REDIS_KEY_PREFIX, QUEUE_NAME,
 * DESIRED_STATE_FILE, AWS_REGION, ECS_ENDPOINT, APPLICATION_AUTOSCALING_ENDPOINT, CLOUDWATCH_ENDPOINT, S3_ENDPOINT,
 * S3_FORCE_PATH_STYLE, AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL, RECONCILE_*, RECONCILER_*,
 * LOG_LEVEL).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { EXIT_CONFIG, loadConfigOrExit, redactedConfig } from '../services/platform/config.ts';
import { createLogger } from '../services/platform/logger.ts';
import { createRedis } from '../services/platform/redis.ts';
import { loadDesiredState } from '../services/platform/desired-state.ts';
import { errorMessage, ValidationError } from '../services/platform/errors.ts';
import { createReconcilerClients } from './aws/clients.ts';
import { createStorageClients } from './storage-clients.ts';
import { aiModelObserverFromConfig } from './azure/model-credential.ts';
import { LeaderLock } from './leader-lock.ts';
import { ReconcileLoop } from './loop.ts';
import { ResourceBackoff, backoffOptionsFromConfig } from './resource-backoff.ts';
import { ReconcilerMetrics } from './metrics.ts';
import { ReportHistory } from './report/history.ts';
import { startReconcilerServer } from './http-server.ts';
import { createAnalysisQueue } from '../services/analyses/queue.ts';
import { bullmqBacklog } from './queue-depth/backlog.ts';
import { passMetricsPublisher } from './metrics-publisher/pass-metrics.ts';

const config = loadConfigOrExit('reconciler');
const log = createLogger('reconciler', config.LOG_LEVEL);
const file = config.DESIRED_STATE_FILE!; // required for the reconciler role by the schema
const prefix = config.REDIS_KEY_PREFIX;
log.info({ config: redactedConfig(config) }, 'reconciler starting');

const redis = createRedis(config.REDIS_URL, 'general');
redis.on('error', (err) => log.warn({ err: errorMessage(err) }, 'redis connection error'));
const clients = createReconcilerClients(config);
/**
 * Builds a client from settings the schema accepts one by one but that do not work together (an account URL with
 * AI_AUTH=key and no connection string, ...): their ValidationError exits 78 with its message, like a schema problem.
 */
async function configured<T>(make: () => T | Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    process.stderr.write(`${err.render()}\n`);
    process.exit(EXIT_CONFIG);
  }
}
// Every replica checks the desired state before it serves: a standby would otherwise report healthy with a file
// it can never reconcile, and find out only when it becomes leader (exit 78 listing every problem, file:line:column).
await configured(() => loadDesiredState(file, config.interpolationEnv));
const storage = await configured(() => createStorageClients(config));
const metrics = new ReconcilerMetrics(true);
const aiModels = await configured(() => aiModelObserverFromConfig(config));
const history = new ReportHistory(redis, prefix, config.RECONCILE_HISTORY_LENGTH);
// Producer side of the analysis queue, only to count its backlog (shares the general connection).
const queue = config.RECONCILE_PUBLISH_QUEUE_METRIC ? createAnalysisQueue(redis, prefix, config.QUEUE_NAME) : undefined;
const backlog = queue ? bullmqBacklog(queue) : undefined;
const lock = new LeaderLock(redis, `${prefix}:reconciler:leader`, `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`, {
  ttlMs: config.RECONCILE_LOCK_TTL_MS,
});
const loop = new ReconcileLoop(
  {
    loadDesired: () => loadDesiredState(file, config.interpolationEnv),
    source: file,
    reconcile: { ecs: clients.ecs, autoscaling: clients.autoscaling, storage, ...(aiModels ? { aiModels } : {}), taskDefinitions: new Map(), scalingHints: {}, onApiCall: (e) => metrics.recordApiCall(e) },
    lock,
    history,
    watchFile: file,
    backoff: new ResourceBackoff(backoffOptionsFromConfig(config)),
    publishMetrics: passMetricsPublisher({ cloudwatch: clients.cloudwatch, ...(backlog ? { backlog } : {}), onApiCall: (e) => metrics.recordApiCall(e) }),
  },
  { defaultIntervalMs: config.RECONCILE_INTERVAL_MS, dryRun: config.RECONCILE_DRY_RUN },
);

let lastPassAt: string | undefined;
let stopping = false;
loop.on('passFinished', ({ report, nextInMs }) => {
  lastPassAt = report.metadata.finishedAt;
  metrics.recordReport(report);
  const s = report.summary;
  log.info(
    {
      passId: report.metadata.passId, environment: report.metadata.environment, mode: report.metadata.mode, dryRun: report.metadata.dryRun,
      resources: s.resources, synced: s.synced, drifted: s.drifted, errors: s.errors, drifts: s.drifts, writes: s.writes,
      apiCalls: s.apiCalls, durationMs: report.metadata.durationMs, nextInMs,
    },
    'reconcile pass',
  );
  for (const a of report.audit) log.info({ audit: a }, 'reconciler write');
  for (const e of report.errors) log.warn({ resource: e.resource, error: e.message }, 'reconcile error');
});
loop.on('passFailed', ({ error, nextInMs }) => {
  metrics.passes.inc({ outcome: 'error' });
  metrics.errors.inc();
  log.error({ error, nextInMs }, 'reconcile pass failed');
});
loop.on('passSkipped', ({ nextInMs }) => {
  metrics.passes.inc({ outcome: 'skipped' });
  log.debug({ nextInMs }, 'not the leader: pass skipped');
});
loop.on('desiredChanged', () => log.info({ desiredState: file }, 'desired state changed: pass requested'));
loop.on('desiredRejected', ({ error }) => {
  metrics.errors.inc();
  log.error({ desiredState: file, error }, 'desired state rejected: the last valid one keeps running');
});
loop.on('queueMetric', (o) => {
  metrics.recordQueueMetric(o);
  if (o.outcome === 'published') log.debug({ metric: o.metric, value: o.value, backlog: o.backlog, runningTasks: o.runningTasks }, 'queue metric published');
  else if (o.outcome === 'skipped') log.info({ metric: o.metric, reason: o.reason }, 'queue metric not published');
  else log.warn({ metric: o.metric, error: o.error }, 'queue metric publication failed');
});
loop.on('reconcileErrorsMetric', (o) => {
  if (o.outcome === 'published') log.debug({ metric: o.metric, value: o.value, failedActions: o.failedActions, backedOff: o.backedOff, failedPasses: o.failedPasses }, 'reconcile errors metric published');
  else if (o.outcome === 'skipped') log.warn({ metric: o.metric, reason: o.reason }, 'reconcile errors metric not published');
  else log.warn({ metric: o.metric, value: o.value, error: o.error }, 'reconcile errors metric publication failed');
});
loop.on('leadership', ({ leader, reason }) => {
  metrics.leader.set(leader ? 1 : 0);
  log.info({ leader, reason, holder: lock.holderId }, leader ? 'leader lease acquired' : 'leader lease lost or released');
});

const server = await startReconcilerServer(config.RECONCILER_HOST, config.RECONCILER_PORT, {
  history,
  metrics,
  logger: log,
  health: () => ({ stopping, leader: lock.isLeader, ...(lastPassAt ? { lastPassAt } : {}) }),
});
log.info({ url: server.url, desiredState: file }, 'reconciler listening');
loop.start();

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal, passInFlight: loop.busy }, 'reconciler stopping');
  const force = setTimeout(() => {
    log.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown grace period exceeded: exiting');
    process.exit(1);
  }, config.SHUTDOWN_GRACE_MS);
  force.unref();
  try {
    await loop.stop();
    await server.close();
    await queue?.close();
    clients.destroy();
    storage.destroy();
    await redis.quit();
    log.info('reconciler stopped');
    process.exitCode = 0;
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'error while stopping');
    process.exitCode = 1;
  } finally {
    clearTimeout(force);
  }
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
