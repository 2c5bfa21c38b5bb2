/**
 * The decision: a pure function from (desired, observed) to drift items. No I/O, no clock, no randomness:
 * the same input gives the same output in the same order (services by name, then resource kind, resource,
 * path, field). Only fields the document sets are compared; normalisation (`normalize.ts`) runs first.
 */
import type { DesiredState, ServiceSpec } from '../../services/platform/desired-state.ts';
import type { Drift, DriftAction, ObservedScalableTarget, ObservedService, ObservedServiceState, ObservedState, ResourceKind } from '../types.ts';
import { applyIgnore } from './ignore.ts';
import { storageDrifts } from './storage.ts';
import { aiModelDrifts } from './ai-models.ts';
import {
  POLICY_SPEC_KEYS,
  desiredPolicies,
  findLivePolicy,
  managesDesiredCount,
  normalizePolicy,
  normalizeService,
  serviceMode,
  sortDimensions,
  type DesiredPolicy,
} from './normalize.ts';

/** Options of {@link diff}. */
export interface DiffOptions {
  /**
   * JSON pointers whose drift is dropped (`spec.management.ignore` semantics, see `ignore.ts`).
   * @defaultValue `[]` — callers that want to count ignored drift apply `applyIgnore` themselves.
   */
  ignore?: readonly string[];
}

/** Order of resource kinds within one service: the order the actuator writes them in. */
const KIND_ORDER: Readonly<Record<ResourceKind, number>> = {
  'ecs-service': 0, 'task-definition': 1, 'scalable-target': 2, 'scaling-policy': 3, 's3-bucket': 4, 'blob-container': 5, 'ai-model': 6,
};

/** Why an ALB request-count policy cannot be created from ECS data alone. */
export const REQUESTS_POLICY_UNCREATABLE =
  'ALBRequestCountPerTarget needs a ResourceLabel naming the load balancer and target group, which ECS does not report: ' +
  'create the policy once with Copilot (`count.requests`) and the reconciler keeps its target value';

interface Context {
  key: string;
  base: string;
  observe: boolean;
  out: Drift[];
}

/** Code-unit order: unlike localeCompare it does not depend on the process locale. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function show(v: unknown): string {
  return v === undefined || v === null ? 'unset' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function add(
  ctx: Context,
  d: { kind: ResourceKind; resource: string; path: string; field: string; desired: unknown; actual: unknown; action: DriftAction; reason: string },
): void {
  const blocked = ctx.observe && d.action !== 'none';
  ctx.out.push({
    resource: d.resource,
    kind: d.kind,
    service: ctx.key,
    path: d.path,
    field: d.field,
    desired: d.desired,
    actual: d.actual,
    action: blocked ? 'none' : d.action,
    reason: blocked ? `observe mode, would ${d.action}: ${d.reason}` : d.reason,
  });
}

/** Adds an `update` drift when desired is set and differs from actual. */
function compare(ctx: Context, kind: ResourceKind, resource: string, path: string, field: string, desired: unknown, actual: unknown): void {
  if (desired === undefined || same(desired, actual)) return;
  add(ctx, { kind, resource, path, field, desired, actual: actual ?? null, action: 'update', reason: `live ${field} is ${show(actual)}, desired ${show(desired)}` });
}

function serviceDrifts(ctx: Context, spec: ServiceSpec, live: ReturnType<typeof normalizeService>, hasTarget: boolean): void {
  const r = `ecs-service/${ctx.key}`;
  if (managesDesiredCount(spec)) {
    if (hasTarget) {
      add(ctx, {
        kind: 'scalable-target', resource: `scalable-target/${ctx.key}`, path: `${ctx.base}/desiredCount`, field: 'scalableTarget',
        desired: null, actual: 'registered', action: 'none',
        reason: 'a scalable target is registered but the desired state sets a fixed desiredCount: remove one of them (the count is not compared while both exist)',
      });
    } else {
      compare(ctx, 'ecs-service', r, `${ctx.base}/desiredCount`, 'desiredCount', spec.desiredCount, live.desiredCount);
    }
  }
  const d = spec.deployment;
  if (d) {
    const p = `${ctx.base}/deployment`;
    compare(ctx, 'ecs-service', r, `${p}/strategy`, 'deploymentConfiguration.strategy', d.strategy, live.deployment.strategy);
    compare(ctx, 'ecs-service', r, `${p}/bakeTimeMinutes`, 'deploymentConfiguration.bakeTimeInMinutes', d.bakeTimeMinutes, live.deployment.bakeTimeMinutes);
    compare(ctx, 'ecs-service', r, `${p}/minimumHealthyPercent`, 'deploymentConfiguration.minimumHealthyPercent', d.minimumHealthyPercent, live.deployment.minimumHealthyPercent);
    compare(ctx, 'ecs-service', r, `${p}/maximumPercent`, 'deploymentConfiguration.maximumPercent', d.maximumPercent, live.deployment.maximumPercent);
    compare(ctx, 'ecs-service', r, `${p}/circuitBreaker`, 'deploymentConfiguration.deploymentCircuitBreaker', d.circuitBreaker, live.deployment.circuitBreaker);
  }
  compare(ctx, 'ecs-service', r, `${ctx.base}/enableExecuteCommand`, 'enableExecuteCommand', spec.enableExecuteCommand, live.enableExecuteCommand);
}

function taskDefinitionDrifts(ctx: Context, spec: ServiceSpec, live: ObservedService): void {
  const want = spec.taskDefinition;
  const have = live.taskDefinition;
  if (!want || !have) return;
  for (const field of ['cpu', 'memory'] as const) {
    if (want[field] === undefined || want[field] === have[field]) continue;
    add(ctx, {
      kind: 'task-definition', resource: `task-definition/${ctx.key}`, path: `${ctx.base}/taskDefinition/${field}`, field,
      desired: want[field], actual: have[field] ?? null, action: 'none',
      reason: `observe only: live ${field} is ${show(have[field])}, desired ${want[field]}; task definitions are deployed by Copilot (copilot svc deploy)`,
    });
  }
}

function suspendedFlags(s: ObservedScalableTarget['suspended']): { dynamicScalingIn: boolean; dynamicScalingOut: boolean; scheduled: boolean } {
  return { dynamicScalingIn: s.dynamicScalingIn ?? false, dynamicScalingOut: s.dynamicScalingOut ?? false, scheduled: s.scheduled ?? false };
}

function targetDrifts(ctx: Context, spec: ServiceSpec & { autoscaling: NonNullable<ServiceSpec['autoscaling']> }, target: ObservedScalableTarget | undefined): void {
  const a = spec.autoscaling;
  const r = `scalable-target/${ctx.key}`;
  const p = `${ctx.base}/autoscaling`;
  if (!target) {
    add(ctx, {
      kind: 'scalable-target', resource: r, path: p, field: 'scalableTarget',
      desired: { min: a.min, max: a.max, ...(a.suspended !== undefined ? { suspended: a.suspended } : {}) }, actual: null, action: 'create',
      reason: 'no scalable target is registered for the service',
    });
    return;
  }
  compare(ctx, 'scalable-target', r, `${p}/min`, 'minCapacity', a.min, target.minCapacity);
  compare(ctx, 'scalable-target', r, `${p}/max`, 'maxCapacity', a.max, target.maxCapacity);
  if (a.suspended !== undefined) {
    const want = { dynamicScalingIn: a.suspended, dynamicScalingOut: a.suspended, scheduled: a.suspended };
    compare(ctx, 'scalable-target', r, `${p}/suspended`, 'suspendedState', want, suspendedFlags(target.suspended));
  }
}

function policySummary(want: DesiredPolicy): Record<string, unknown> {
  return {
    metric: want.metric.kind === 'predefined' ? want.metric.type : want.metric.kind === 'customized' ? `${want.metric.namespace}/${want.metric.metricName}` : 'other',
    targetValue: want.targetValue,
    ...(want.scaleInCooldownSec !== undefined ? { scaleInCooldownSec: want.scaleInCooldownSec } : {}),
    ...(want.scaleOutCooldownSec !== undefined ? { scaleOutCooldownSec: want.scaleOutCooldownSec } : {}),
  };
}

function policyDrifts(ctx: Context, desired: DesiredState, state: ObservedServiceState): void {
  for (const want of desiredPolicies(desired, ctx.key)) {
    const found = findLivePolicy(want, state.policies);
    const r = `scaling-policy/${ctx.key}/${found?.name ?? want.name}`;
    const p = `${ctx.base}/autoscaling/${POLICY_SPEC_KEYS[want.target]}`;
    if (!found) {
      const uncreatable = want.target === 'requests';
      add(ctx, {
        kind: 'scaling-policy', resource: r, path: p, field: 'policy', desired: policySummary(want), actual: null,
        action: uncreatable ? 'none' : 'create',
        reason: uncreatable ? `no ALBRequestCountPerTarget policy; ${REQUESTS_POLICY_UNCREATABLE}` : `no target-tracking policy on ${String(policySummary(want).metric)}`,
      });
      continue;
    }
    const live = normalizePolicy(found);
    const cool = `${ctx.base}/autoscaling`;
    compare(ctx, 'scaling-policy', r, p, 'TargetValue', want.targetValue, live.targetValue);
    compare(ctx, 'scaling-policy', r, `${cool}/scaleInCooldownSec`, 'ScaleInCooldown', want.scaleInCooldownSec, live.scaleInCooldownSec);
    compare(ctx, 'scaling-policy', r, `${cool}/scaleOutCooldownSec`, 'ScaleOutCooldown', want.scaleOutCooldownSec, live.scaleOutCooldownSec);
    compare(ctx, 'scaling-policy', r, p, 'DisableScaleIn', false, live.disableScaleIn);
    if (want.metric.kind === 'customized' && live.metric.kind === 'customized') {
      const shape = (m: { statistic?: string; dimensions: { name: string; value: string }[] }): Record<string, unknown> => ({
        statistic: m.statistic ?? null,
        dimensions: sortDimensions(m.dimensions),
      });
      compare(ctx, 'scaling-policy', r, p, 'CustomizedMetricSpecification', shape(want.metric), shape(live.metric));
    }
  }
}

/**
 * Computes drift for every service of `desired`.
 * Rules: a missing service is drift that cannot be corrected (Copilot creates services); an autoscaled
 * service's live desiredCount is never compared; its scalable target min/max/suspended and target-tracking
 * policies are; task definitions are observe-only; in observe mode (document or service) every action is `none`.
 * Services whose observation failed (`error`) produce no drift: the report shows them as Error. Storage drift
 * (`storage.ts`, observe only) follows the services, then model drift (`ai-models.ts`, observe only).
 * @returns drift items in a deterministic order.
 */
export function diff(desired: DesiredState, observed: Pick<ObservedState, 'services' | 'storage' | 'aiModels'>, options: DiffOptions = {}): Drift[] {
  const out: Drift[] = [];
  for (const key of Object.keys(desired.spec.ecs.services).sort()) {
    const spec = desired.spec.ecs.services[key]!;
    const state = observed.services[key];
    if (!state || state.error !== undefined) continue;
    const ctx: Context = { key, base: `/spec/ecs/services/${key}`, observe: serviceMode(desired, key) === 'observe', out };
    if (!state.service) {
      add(ctx, {
        kind: 'ecs-service', resource: `ecs-service/${key}`, path: ctx.base, field: 'service', desired: 'present', actual: null, action: 'none',
        reason: `no live service matches (cluster ${desired.spec.ecs.cluster}); services are created by copilot svc deploy, not by the reconciler`,
      });
      continue;
    }
    serviceDrifts(ctx, spec, normalizeService(state.service), state.scalableTarget !== undefined);
    taskDefinitionDrifts(ctx, spec, state.service);
    if (spec.autoscaling) {
      targetDrifts(ctx, { ...spec, autoscaling: spec.autoscaling }, state.scalableTarget);
      policyDrifts(ctx, desired, state);
    }
  }
  out.sort(
    (a, b) =>
      cmp(a.service, b.service) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmp(a.resource, b.resource) || cmp(a.path, b.path) || cmp(a.field, b.field),
  );
  out.push(...storageDrifts(desired, observed.storage)); // storage after every service, in its own fixed order
  out.push(...aiModelDrifts(desired, observed.aiModels)); // then the models, in document order
  return applyIgnore(out, options.ignore ?? []).kept;
}
