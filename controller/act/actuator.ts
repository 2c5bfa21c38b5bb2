/**
 * Executes planned writes. It decides nothing (`plan-writes.ts` did): it sends each write once through the
 * retrying `ApiCalls`, keeps going when one fails, holds back a policy whose scalable target failed, honours
 * the blast-radius cap and dry-run, and writes one audit record per field changed (or not changed, and why).
 * Storage writes (`storage-writes.ts`) go the same way; a storage resource may take several writes, one per setting.
 */
import { UpdateServiceCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { PutScalingPolicyCommand, RegisterScalableTargetCommand, type ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { errorMessage } from '../../services/platform/errors.ts';
import type { AuditRecord, WriteOutcome } from '../types.ts';
import type { ApiCalls } from '../aws/api-calls.ts';
import type { PlannedWrite } from './plan-writes.ts';
import { sendStorageWrite } from './storage-writes.ts';
import type { StorageClients } from '../observe/storage.ts';
import type { ResourceBackoff } from '../resource-backoff.ts';

/** Collaborators of {@link applyWrites}. */
export interface ActuatorDeps {
  ecs: ECSClient;
  autoscaling: ApplicationAutoScalingClient;
  calls: ApiCalls;
  /** Clients of storage writes; without one, a storage write fails (and says so). @defaultValue none */
  storage?: StorageClients;
  now: () => Date;
  /** Checked before each write; false defers the rest (e.g. the leader lease was lost mid-pass). @defaultValue always true */
  mayWrite?: () => boolean;
  /** Per-resource back-off: a resource backed off is deferred; outcomes are recorded in it. @defaultValue none */
  backoff?: ResourceBackoff;
}

/** Options of {@link applyWrites}. */
export interface ActuatorOptions {
  /** Plan every write, send none. @defaultValue false */
  dryRun: boolean;
  /** Writes sent (or, in dry-run, planned) per pass; the rest are `deferred` to the next pass. @defaultValue 20 */
  maxWrites: number;
}

/** Defaults of {@link ActuatorOptions}. */
export const DEFAULT_ACTUATOR_OPTIONS: ActuatorOptions = { dryRun: false, maxWrites: 20 };

/** What the writes did. */
export interface ActuatorResult {
  audit: AuditRecord[];
  /** Outcome per resource written (or not); with several writes to one resource, the worst (failed, deferred, dry-run, applied). */
  outcomes: Map<string, { outcome: WriteOutcome; error?: string }>;
}

const SEVERITY: Readonly<Record<WriteOutcome, number>> = { applied: 0, 'dry-run': 1, deferred: 2, failed: 3 };

/** The outcome of a resource after one more of its writes. */
function worse(prev: { outcome: WriteOutcome; error?: string } | undefined, next: { outcome: WriteOutcome; error?: string }): { outcome: WriteOutcome; error?: string } {
  if (!prev) return next;
  const outcome = SEVERITY[next.outcome] > SEVERITY[prev.outcome] ? next.outcome : prev.outcome;
  const errors = [prev.error, next.error].filter((e): e is string => e !== undefined);
  return { outcome, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) };
}

async function send(w: PlannedWrite, deps: ActuatorDeps): Promise<void> {
  switch (w.operation) {
    case 'UpdateService':
      await deps.calls.run('ecs', 'UpdateService', w.resource, () => deps.ecs.send(new UpdateServiceCommand(w.input)));
      return;
    case 'RegisterScalableTarget':
      await deps.calls.run('application-autoscaling', 'RegisterScalableTarget', w.resource, () => deps.autoscaling.send(new RegisterScalableTargetCommand(w.input)));
      return;
    case 'PutScalingPolicy':
      await deps.calls.run('application-autoscaling', 'PutScalingPolicy', w.resource, () => deps.autoscaling.send(new PutScalingPolicyCommand(w.input)));
      return;
    default:
      await sendStorageWrite(w, deps.storage, deps.calls);
  }
}

/**
 * Executes `writes` in order.
 * @returns the audit trail and the outcome per resource; never throws for a failed write.
 */
export async function applyWrites(writes: readonly PlannedWrite[], deps: ActuatorDeps, options: Partial<ActuatorOptions> = {}): Promise<ActuatorResult> {
  const o: ActuatorOptions = { ...DEFAULT_ACTUATOR_OPTIONS, ...options };
  const audit: AuditRecord[] = [];
  const outcomes = new Map<string, { outcome: WriteOutcome; error?: string }>();
  let used = 0;
  for (const w of writes) {
    let outcome: WriteOutcome;
    let error: string | undefined;
    const dependsOn = w.operation === 'PutScalingPolicy' ? w.dependsOn : undefined;
    const dependency = dependsOn !== undefined ? outcomes.get(dependsOn) : undefined;
    if (dependency && dependency.outcome !== 'applied' && dependency.outcome !== 'dry-run') {
      outcome = 'deferred';
      error = `not attempted: ${String(dependsOn)} was ${dependency.outcome}`;
    } else if (used >= o.maxWrites) {
      outcome = 'deferred';
      error = `not attempted: maxWritesPerPass (${o.maxWrites}) reached`;
    } else if (!o.dryRun && deps.mayWrite && !deps.mayWrite()) {
      outcome = 'deferred';
      error = 'not attempted: this replica is no longer the leader';
    } else if (!o.dryRun && deps.backoff && !deps.backoff.isReady(w.resource, deps.now().getTime())) {
      const b = deps.backoff.get(w.resource)!;
      outcome = 'deferred';
      error = `not attempted: backing off after ${b.failures} failed write${b.failures === 1 ? '' : 's'} until ${new Date(b.retryAtMs).toISOString()} (last: ${b.lastError})`;
    } else if (o.dryRun) {
      used++;
      outcome = 'dry-run';
    } else {
      used++;
      try {
        await send(w, deps);
        outcome = 'applied';
        deps.backoff?.success(w.resource);
      } catch (err) {
        outcome = 'failed';
        error = errorMessage(err);
        deps.backoff?.failure(w.resource, deps.now().getTime(), error);
      }
    }
    outcomes.set(w.resource, worse(outcomes.get(w.resource), { outcome, ...(error !== undefined ? { error } : {}) }));
    const time = deps.now().toISOString();
    for (const d of w.drifts) {
      audit.push({ resource: w.resource, field: d.field, before: d.actual, after: d.desired, time, operation: w.operation, outcome, ...(error !== undefined ? { error } : {}) });
    }
  }
  return { audit, outcomes };
}
