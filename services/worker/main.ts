/**
 * Entry point of the `worker` role: `npm run start:worker`.
 *
 * Loads the configuration (exit 78 on a bad one, listing every problem), starts the worker
 * ({@link startWorkerRuntime}), and on SIGTERM (ECS stop) or SIGINT closes it: no new jobs, active jobs get
 * SHUTDOWN_GRACE_MS to finish (below ECS's 30 s stop timeout), then exit 0. Jobs still running after the grace
 * period are recovered by another worker as stalled. A second signal exits at once. ffmpeg children are killed on
 * any exit so none outlives the process.
 */
import { EXIT_CONFIG, loadConfigOrExit, redactedConfig } from '../platform/config.ts';
import { ValidationError, errorMessage } from '../platform/errors.ts';
import { createLogger } from '../platform/logger.ts';
import { killActiveTools } from '../media/process.ts';
import { startWorkerRuntime, type WorkerRuntime } from './worker-runtime.ts';

const config = loadConfigOrExit('worker');
const logger = createLogger('worker', config.LOG_LEVEL);
process.on('exit', killActiveTools);
process.on('unhandledRejection', (reason) => logger.error({ err: errorMessage(reason) }, 'unhandled rejection'));

let runtime: WorkerRuntime;
try {
  logger.info({ config: redactedConfig(config) }, 'starting worker');
  runtime = await startWorkerRuntime(config, logger);
} catch (err) {
  if (err instanceof ValidationError) {
    process.stderr.write(`${err.render()}\n`);
    process.exit(EXIT_CONFIG);
  }
  logger.fatal({ err: errorMessage(err) }, 'worker failed to start');
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(0);
  }
  stopping = true;
  const started = Date.now();
  logger.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down: finishing active jobs');
  try {
    const outcome = await runtime.stop(config.SHUTDOWN_GRACE_MS);
    logger.info({ event: 'worker_stopped', outcome, ms: Date.now() - started }, outcome === 'closed' ? 'worker stopped' : 'grace period over: active jobs left to stalled-job recovery');
  } catch (err) {
    logger.error({ err: errorMessage(err) }, 'error while stopping');
  }
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
