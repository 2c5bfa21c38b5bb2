/**
 * One reconcile pass: observe → diff → act → report, level-triggered (everything is re-read every pass, so a
 * missed change or a crash half-way is healed by the next one). The loop around it (`loop.ts`) owns the
 * interval, jitter, back-off, leader lock and metrics; the CLI calls it once.
 *
 * A pass never throws for AWS trouble: an observation failure or a failed write is in the report (`errors`,
 * resource status `Error`) and the caller decides what to do. It throws only for programming errors.
 */
import { randomUUID } from 'node:crypto';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { parseDurationMs, type DesiredState } from '../services/platform/desired-state.ts';
import { errorMessage } from '../services/platform/errors.ts';
import type { ObservedState, ReconcileResult } from './types.ts';
import { ApiCalls, type ApiCallEvent } from './aws/api-calls.ts';
import type { RetryOptions } from './aws/retry.ts';
import { observe } from './observe/observe.ts';
import type { TaskDefinitionCache } from './observe/ecs-services.ts';
import type { StorageClients } from './observe/storage.ts';
import type { AiModelObserverDeps } from './observe/ai-models.ts';
import type { ScalingReadHints } from './observe/scalable-targets.ts';
import { diff } from './diff/diff.ts';
import { applyIgnore } from './diff/ignore.ts';
import { planWrites } from './act/plan-writes.ts';
import { applyWrites, DEFAULT_ACTUATOR_OPTIONS, type ActuatorResult } from './act/actuator.ts';
import { buildReport } from './report/build-report.ts';
import type { ResourceBackoff } from './resource-backoff.ts';

/** What to reconcile. */
export interface ReconcileRequest {
  desired: DesiredState;
  /** The desired-state file, named in the report. */
  source: string;
  /** `plan`: observe and diff only (nothing is written whatever the mode); `apply`: correct drift in enforce mode. */
  intent: 'plan' | 'apply';
  /** Force dry run on top of `spec.management.dryRun`. @defaultValue false */
  dryRun?: boolean;
}

/** Collaborators of a pass (constructor-style injection: tests pass clients pointed at the emulator). */
export interface ReconcileDeps {
  ecs: ECSClient;
  autoscaling: ApplicationAutoScalingClient;
  /** Task definitions by ARN; keep one per process. */
  taskDefinitions: TaskDefinitionCache;
  /** Storage clients; without them storage is not observed (and not listed in the report). */
  storage?: StorageClients;
  /** Read hints kept across passes (which DescribeScalingPolicies strategy is cheaper); keep one per process. @defaultValue none */
  scalingHints?: ScalingReadHints;
  /** Credential and options for probing the declared Azure AI models; without it they are not observed. */
  aiModels?: AiModelObserverDeps;
  /** Retry settings of AWS calls (see `aws/retry.ts` for defaults). */
  retry?: Partial<RetryOptions>;
  /** Told about every AWS call attempt (metrics). */
  onApiCall?: (e: ApiCallEvent) => void;
  /** Clock. @defaultValue `() => new Date()` */
  now?: () => Date;
  /** Interval when the document sets none, ms (RECONCILE_INTERVAL_MS). @defaultValue 60000 */
  defaultIntervalMs?: number;
  /** Checked before each write (the loop passes "still the leader"). @defaultValue always true */
  mayWrite?: () => boolean;
  /** Per-resource write back-off kept across passes (the loop owns one). @defaultValue none: every write is tried */
  backoff?: ResourceBackoff;
}

/** Interval when neither the document nor the caller sets one, ms: Crossplane's poll default (operator-anchors.md §3). */
export const DEFAULT_INTERVAL_MS = 60_000;

/**
 * Runs one pass.
 * @returns the report and when to run again (the document's `spec.management.interval`, else the default).
 */
export async function reconcile(request: ReconcileRequest, deps: ReconcileDeps): Promise<ReconcileResult> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const { desired } = request;
  const management = desired.spec.management;
  const calls = new ApiCalls(deps.retry, deps.onApiCall);
  const errors: { resource?: string; message: string }[] = [];
  const dryRun = request.dryRun === true || management.dryRun === true;

  let observed: ObservedState | undefined;
  try {
    observed = await observe(desired, { ecs: deps.ecs, autoscaling: deps.autoscaling, calls, taskDefinitions: deps.taskDefinitions, now, ...(deps.storage ? { storage: deps.storage } : {}), ...(deps.aiModels ? { aiModels: deps.aiModels } : {}), ...(deps.scalingHints ? { scalingHints: deps.scalingHints } : {}) });
  } catch (err) {
    errors.push({ message: `observe cluster ${desired.spec.ecs.cluster}: ${errorMessage(err)}` });
  }

  const { kept, ignored } = observed ? applyIgnore(diff(desired, observed), management.ignore ?? []) : { kept: [], ignored: [] };
  let actuator: ActuatorResult | undefined;
  if (observed && request.intent === 'apply') {
    const writes = planWrites(desired, observed, kept);
    actuator = await applyWrites(writes, { ecs: deps.ecs, autoscaling: deps.autoscaling, calls, now, ...(deps.storage ? { storage: deps.storage } : {}), ...(deps.mayWrite ? { mayWrite: deps.mayWrite } : {}), ...(deps.backoff ? { backoff: deps.backoff } : {}) }, {
      dryRun,
      maxWrites: management.maxWritesPerPass ?? DEFAULT_ACTUATOR_OPTIONS.maxWrites,
    });
  }

  const report = buildReport({
    desired,
    source: request.source,
    intent: request.intent,
    dryRun,
    passId: randomUUID(),
    startedAt,
    finishedAt: now(),
    ...(observed ? { observed } : {}),
    drifts: kept,
    ignored: ignored.length,
    ...(actuator ? { actuator } : {}),
    errors,
    apiCalls: calls.count,
  });
  const requeueAfterMs = management.interval !== undefined ? parseDurationMs(management.interval) : (deps.defaultIntervalMs ?? DEFAULT_INTERVAL_MS);
  return { report, requeueAfterMs, ...(observed ? { observed } : {}) };
}

/** Exit code of a report, like `terraform plan -detailed-exitcode`: 1 error, 2 drift left, 0 in sync. */
export function exitCodeOf(report: ReconcileResult['report']): 0 | 1 | 2 {
  if (report.errors.length > 0 || report.summary.errors > 0) return 1;
  return report.summary.drifted > 0 ? 2 : 0;
}
