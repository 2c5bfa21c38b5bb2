/**
 * Builds the drift report of one pass from what the stages produced: every managed resource with a status
 * (Synced, Drifted, Error) and the reasons, the audit trail, counters, and the pass's own errors. Pure.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import {
  ecsResourceId,
  type AuditRecord,
  type Drift,
  type DriftReport,
  type ObservedState,
  type ResourceKind,
  type ResourceReport,
  type WriteOutcome,
} from '../types.ts';
import { desiredPolicies, findLivePolicy, serviceMode } from '../diff/normalize.ts';
import { STORAGE_SCOPE, storageResources, unsupportedReasons } from '../diff/storage.ts';
import type { ActuatorResult } from '../act/actuator.ts';
import { AI_SCOPE, aiModelResource } from '../diff/ai-models.ts';

/** Everything a report is made from. */
export interface ReportInput {
  desired: DesiredState;
  /** Desired-state file, as given. */
  source: string;
  intent: 'plan' | 'apply';
  dryRun: boolean;
  passId: string;
  startedAt: Date;
  finishedAt: Date;
  /** Absent when the observation failed. */
  observed?: ObservedState;
  drifts: readonly Drift[];
  ignored: number;
  actuator?: ActuatorResult;
  errors: readonly { resource?: string; message: string }[];
  apiCalls: number;
}

interface ResourceRef {
  resource: string;
  kind: ResourceKind;
  service: string;
  liveId?: string;
}

/** Every resource the desired state manages, named as `diff` names them. */
function managedResources(desired: DesiredState, observed: ObservedState | undefined): ResourceRef[] {
  const cluster = desired.spec.ecs.cluster;
  const out: ResourceRef[] = [];
  for (const key of Object.keys(desired.spec.ecs.services).sort()) {
    const spec = desired.spec.ecs.services[key]!;
    const state = observed?.services[key];
    const live = state?.service;
    out.push({ resource: `ecs-service/${key}`, kind: 'ecs-service', service: key, ...(live ? { liveId: live.arn } : {}) });
    // A service that does not exist has no task definition, target or policies to compare: only it is listed.
    if (state && !state.service && state.error === undefined) continue;
    if (spec.taskDefinition) out.push({ resource: `task-definition/${key}`, kind: 'task-definition', service: key, ...(live?.taskDefinitionArn ? { liveId: live.taskDefinitionArn } : {}) });
    if (!spec.autoscaling) continue;
    out.push({ resource: `scalable-target/${key}`, kind: 'scalable-target', service: key, ...(live ? { liveId: ecsResourceId(cluster, live.name) } : {}) });
    for (const want of desiredPolicies(desired, key)) {
      const found = findLivePolicy(want, state?.policies ?? []);
      out.push({ resource: `scaling-policy/${key}/${found?.name ?? want.name}`, kind: 'scaling-policy', service: key, ...(found?.arn ? { liveId: found.arn } : {}) });
    }
  }
  // Storage is listed only when it was observed (the pass had a client for it).
  const ids = storageResources(desired);
  if (ids.bucket && observed?.storage?.s3TempBucket) out.push({ resource: ids.bucket, kind: 's3-bucket', service: STORAGE_SCOPE });
  if (ids.container && observed?.storage?.keyframes) out.push({ resource: ids.container, kind: 'blob-container', service: STORAGE_SCOPE });
  // Models likewise, when they were probed.
  for (const m of observed?.aiModels ?? []) out.push({ resource: aiModelResource(m.name), kind: 'ai-model', service: AI_SCOPE, liveId: m.endpoint });
  return out;
}

/** Why a storage resource could not be observed, if it could not. */
function storageError(ref: ResourceRef, observed: ObservedState | undefined): string | undefined {
  const entry = ref.kind === 's3-bucket' ? observed?.storage?.s3TempBucket : ref.kind === 'blob-container' ? observed?.storage?.keyframes : undefined;
  return entry && 'error' in entry ? entry.error : undefined;
}

/** Facts the report states about a storage resource besides drift. */
function storageNotes(ref: ResourceRef, observed: ObservedState | undefined): string[] {
  if (ref.kind === 's3-bucket') return unsupportedReasons(observed?.storage, 's3-bucket');
  if (ref.kind === 'blob-container') return ['retentionDays is not observable through the Blob API (an Azure Resource Manager lifecycle policy)'];
  return [];
}

function show(v: unknown): string {
  return v === undefined || v === null ? 'unset' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function statusOf(
  ref: ResourceRef,
  drifts: Drift[],
  input: ReportInput,
): Pick<ResourceReport, 'status' | 'reasons'> {
  const storage = ref.kind === 's3-bucket' || ref.kind === 'blob-container';
  const model = ref.kind === 'ai-model' ? input.observed?.aiModels?.find((m) => aiModelResource(m.name) === ref.resource) : undefined;
  const observeError = !input.observed
    ? input.errors[0]?.message
    : storage ? storageError(ref, input.observed) : model ? model.error : input.observed.services[ref.service]?.error;
  if (observeError !== undefined) return { status: 'Error', reasons: [`not observed: ${observeError}`] };
  if (model && drifts.length === 0) return { status: 'Synced', reasons: [`in sync: GET /info reports ${model.reportedModel ?? ''}`] };
  const notes = storage ? storageNotes(ref, input.observed) : [];
  if (drifts.length === 0) {
    const unsupported = notes.filter((n) => n.startsWith('Unsupported by endpoint'));
    if (unsupported.length > 0) return { status: 'Unsupported', reasons: notes };
    return { status: 'Synced', reasons: ['in sync', ...notes] };
  }
  const write = input.actuator?.outcomes.get(ref.resource);
  const fixable = drifts.filter((d) => d.action !== 'none');
  const rest = drifts.filter((d) => d.action === 'none').map((d) => d.reason);
  if (write?.outcome === 'applied') {
    const corrected = fixable.map((d) => `corrected ${d.field}: ${show(d.actual)} → ${show(d.desired)}`);
    return rest.length === 0 ? { status: 'Synced', reasons: [...corrected, ...notes] } : { status: 'Drifted', reasons: [...corrected, ...rest, ...notes] };
  }
  if (write?.outcome === 'failed') return { status: 'Error', reasons: [`write failed: ${write.error ?? 'unknown error'}`, ...drifts.map((d) => d.reason), ...notes] };
  const note = write?.outcome === 'dry-run' ? ['dry run: not written'] : write?.outcome === 'deferred' ? [write.error ?? 'deferred'] : [];
  return { status: 'Drifted', reasons: [...drifts.map((d) => d.reason), ...note, ...notes] };
}

/**
 * A service whose writes went through only in part (e.g. its scalable target written, a policy failed) says so
 * on each of its written or unwritten resources, naming the fields on both sides, so nobody has to guess what
 * state a half-corrected service is in. The next pass retries what is left (level-triggered).
 */
function markPartial(resources: ResourceReport[]): void {
  const byService = new Map<string, ResourceReport[]>();
  for (const r of resources) byService.set(r.service, [...(byService.get(r.service) ?? []), r]);
  for (const [service, rs] of byService) {
    const done = rs.filter((r) => r.written);
    const left = rs.filter((r) => r.unwritten);
    if (done.length === 0 || left.length === 0) continue;
    const list = (xs: ResourceReport[], key: 'written' | 'unwritten'): string => xs.map((r) => `${r.resource} ${r[key]!.join(', ')}`).join('; ');
    const note = `partially applied (service ${service}): written ${list(done, 'written')}; not written ${list(left, 'unwritten')}`;
    for (const r of [...done, ...left]) r.reasons.push(note);
  }
}

/** Assembles the report (`schemas/drift-report.schema.json`). */
export function buildReport(input: ReportInput): DriftReport {
  const { desired } = input;
  const refs = managedResources(desired, input.observed);
  for (const d of input.drifts) {
    if (!refs.some((r) => r.resource === d.resource)) refs.push({ resource: d.resource, kind: d.kind, service: d.service });
  }
  const resources: ResourceReport[] = refs.map((ref) => {
    const drifts = input.drifts.filter((d) => d.resource === ref.resource);
    // Per field, from the audit: a resource corrected by several writes (storage) may be partly written.
    const audit = (input.actuator?.audit ?? []).filter((a) => a.resource === ref.resource);
    const written = audit.filter((a) => a.outcome === 'applied').map((a) => a.field);
    const unwritten = audit.filter((a) => a.outcome === 'failed' || a.outcome === 'deferred').map((a) => a.field);
    return { ...ref, ...statusOf(ref, drifts, input), drifts, ...(written.length ? { written } : {}), ...(unwritten.length ? { unwritten } : {}) };
  });
  markPartial(resources);
  const audit: AuditRecord[] = input.actuator?.audit ?? [];
  const writes: Record<WriteOutcome, number> = { applied: 0, failed: 0, 'dry-run': 0, deferred: 0 };
  for (const o of input.actuator?.outcomes.values() ?? []) writes[o.outcome]++;
  const errors = [...input.errors];
  for (const [resource, o] of input.actuator?.outcomes ?? []) if (o.outcome === 'failed') errors.push({ resource, message: o.error ?? 'write failed' });
  for (const [key, s] of Object.entries(input.observed?.services ?? {})) if (s.error !== undefined) errors.push({ resource: `ecs-service/${key}`, message: s.error });
  for (const ref of refs) {
    const message = storageError(ref, input.observed);
    if (message !== undefined) errors.push({ resource: ref.resource, message });
  }
  for (const m of input.observed?.aiModels ?? []) if (m.error !== undefined) errors.push({ resource: aiModelResource(m.name), message: m.error });
  const modes = new Set(Object.keys(desired.spec.ecs.services).map((k) => serviceMode(desired, k)));
  return {
    apiVersion: 'content-trends/v1',
    kind: 'DriftReport',
    metadata: {
      app: desired.metadata.app,
      environment: desired.metadata.environment,
      source: input.source,
      cluster: desired.spec.ecs.cluster,
      ...(input.observed?.cluster.arn ? { clusterArn: input.observed.cluster.arn } : {}),
      passId: input.passId,
      startedAt: input.startedAt.toISOString(),
      finishedAt: input.finishedAt.toISOString(),
      durationMs: input.finishedAt.getTime() - input.startedAt.getTime(),
      mode: modes.size === 1 && modes.has('observe') ? 'observe' : desired.spec.management.mode,
      dryRun: input.dryRun,
      intent: input.intent,
    },
    summary: {
      resources: resources.length,
      synced: resources.filter((r) => r.status === 'Synced').length,
      drifted: resources.filter((r) => r.status === 'Drifted').length,
      errors: resources.filter((r) => r.status === 'Error').length,
      unsupported: resources.filter((r) => r.status === 'Unsupported').length,
      drifts: input.drifts.length,
      ignored: input.ignored,
      toCreate: input.drifts.filter((d) => d.action === 'create').length,
      toUpdate: input.drifts.filter((d) => d.action === 'update').length,
      unmanageable: input.drifts.filter((d) => d.action === 'none').length,
      writes,
      apiCalls: input.apiCalls,
    },
    resources,
    audit,
    errors,
  };
}
