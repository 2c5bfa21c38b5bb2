/**
 * `trendctl report [--json] [--history N]`: prints the latest drift report the reconciler service saved in
 * Redis (REDIS_URL, REDIS_KEY_PREFIX), as a plan or as JSON; `--history N` prints one summary line per pass
 * for the last N passes. Exit 0, or 1 when there is no report yet or Redis cannot be reached.
 */
import { createRedis, waitReady } from '../../services/platform/redis.ts';
import { ValidationError, errorMessage } from '../../services/platform/errors.ts';
import { ReportHistory } from '../report/history.ts';
import { renderPlanText } from '../report/plan-text.ts';
import { renderPlanJson } from '../report/plan-json.ts';
import type { Command } from './command.ts';
import { cliConfig } from './runtime.ts';

/** The `report` command. */
export const reportCommand: Command = {
  name: 'report',
  summary: 'print the latest drift report saved by the reconciler service (needs REDIS_URL)',
  options: [
    { name: 'json', type: 'boolean', help: 'print it as JSON', default: false },
    { name: 'history', type: 'string', help: 'print one line per pass for the last N passes instead' },
  ],
  async run(ctx) {
    let config;
    try {
      config = cliConfig(ctx, undefined, true);
    } catch (err) {
      if (err instanceof ValidationError) {
        ctx.stderr.write(`${err.render()}\n`);
        return 1;
      }
      throw err;
    }
    const redis = createRedis(config.REDIS_URL, 'general', { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined); // reported through the failed command below
    try {
      await waitReady(redis, 3000);
      const store = new ReportHistory(redis, config.REDIS_KEY_PREFIX);
      const historyArg = ctx.options.history;
      if (typeof historyArg === 'string') {
        const n = Number(historyArg);
        if (!Number.isInteger(n) || n < 1) {
          ctx.stderr.write('trendctl report: --history must be a positive integer\n');
          return 1;
        }
        for (const r of await store.list(n)) {
          const s = r.summary;
          ctx.stdout.write(`${r.metadata.finishedAt} ${r.metadata.intent} ${r.metadata.environment}: ${s.synced} synced, ${s.drifted} drifted, ${s.errors} errors, ${s.writes.applied} writes\n`);
        }
        return 0;
      }
      const report = await store.latest();
      if (!report) {
        ctx.stderr.write(`trendctl report: no drift report under ${config.REDIS_KEY_PREFIX}:drift:latest yet (is the reconciler running?)\n`);
        return 1;
      }
      ctx.stdout.write(ctx.options.json === true ? renderPlanJson(report) : renderPlanText(report, { color: ctx.isTTY }));
      return 0;
    } catch (err) {
      ctx.stderr.write(`trendctl report: cannot read the report from Redis: ${errorMessage(err)}\n`);
      return 1;
    } finally {
      redis.disconnect();
    }
  },
};
