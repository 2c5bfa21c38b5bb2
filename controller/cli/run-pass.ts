/**
 * The body shared by `plan` and `apply`: load the document, check that AWS credentials can be loaded (one clear
 * message on stderr and exit 1 when not), run one pass, print the plan (text, or JSON with `--json`), and turn
 * the report into an exit code (0 in sync, 2 drift left, 1 error), like `terraform plan -detailed-exitcode`.
 */
import { loadDesiredState } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { exitCodeOf, reconcile } from '../reconcile.ts';
import { renderPlanText } from '../report/plan-text.ts';
import { renderPlanJson } from '../report/plan-json.ts';
import type { CommandContext } from './command.ts';
import { cliConfig, interpolationVars } from './runtime.ts';
import { createReconcilerClients, type ReconcilerClients } from '../aws/clients.ts';
import { createStorageClients, type StorageClientSet } from '../storage-clients.ts';
import { aiModelObserverFromConfig } from '../azure/model-credential.ts';
import { awsCredentialsProblem } from './aws-credentials.ts';

/** Runs one pass for the CLI. @returns the exit code. */
export async function runPass(ctx: CommandContext, intent: 'plan' | 'apply', name: string): Promise<number> {
  const file = ctx.options.file;
  if (typeof file !== 'string') {
    ctx.stderr.write(`trendctl ${name}: -f FILE is required\n`);
    return 1;
  }
  let clients: ReconcilerClients | undefined;
  let storage: StorageClientSet | undefined;
  try {
    const config = cliConfig(ctx, file, false);
    const desired = await loadDesiredState(file, interpolationVars(ctx.env));
    clients = createReconcilerClients(config);
    const ecs = clients.ecs;
    const problem = await awsCredentialsProblem(() => ecs.config.credentials(), ctx.env);
    if (problem) {
      ctx.stderr.write(`trendctl ${name}: ${problem}\n`);
      return 1;
    }
    storage = await createStorageClients(config);
    const aiModels = aiModelObserverFromConfig(config);
    const { report } = await reconcile(
      { desired, source: file, intent, dryRun: ctx.options['dry-run'] === true || config.RECONCILE_DRY_RUN },
      { ecs: clients.ecs, autoscaling: clients.autoscaling, storage, ...(aiModels ? { aiModels } : {}), taskDefinitions: new Map(), defaultIntervalMs: config.RECONCILE_INTERVAL_MS },
    );
    ctx.stdout.write(ctx.options.json === true ? renderPlanJson(report) : renderPlanText(report, { color: ctx.isTTY }));
    return exitCodeOf(report);
  } catch (err) {
    if (err instanceof ValidationError) {
      ctx.stderr.write(`${err.render()}\n`);
      return 1;
    }
    throw err;
  } finally {
    clients?.destroy();
    storage?.destroy();
  }
}
