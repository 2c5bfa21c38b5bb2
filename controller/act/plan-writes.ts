/**
 * Turns drift into the writes that correct it: one write per drifted resource (its "field group"), each write
 * carrying the drift items it fixes, in dependency order (service, then scalable target, then its policies:
 * a policy needs its target). Pure: the actuator only executes what this returns.
 *
 * Every write is idempotent: UpdateService sets absolute values, RegisterScalableTarget on an existing target
 * updates it, PutScalingPolicy with an existing name replaces that policy (Application Auto Scaling API reference).
 */
import type { UpdateServiceCommandInput } from '@aws-sdk/client-ecs';
import type { PutScalingPolicyCommandInput, RegisterScalableTargetCommandInput } from '@aws-sdk/client-application-auto-scaling';
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { ECS_SCALABLE_DIMENSION, ECS_SERVICE_NAMESPACE, ecsResourceId, type Drift, type ObservedServiceState, type ObservedStorage } from '../types.ts';
import { DEFAULT_COOLDOWNS_SEC, desiredPolicies, findLivePolicy, normalizeDeployment, normalizePolicy } from '../diff/normalize.ts';
import { planStorageWrites, type StorageWrite } from './storage-writes.ts';

/** One write, with the drift it corrects (storage writes: `storage-writes.ts`). */
export type PlannedWrite =
  | { operation: 'UpdateService'; resource: string; drifts: Drift[]; input: UpdateServiceCommandInput }
  | { operation: 'RegisterScalableTarget'; resource: string; drifts: Drift[]; input: RegisterScalableTargetCommandInput }
  | { operation: 'PutScalingPolicy'; resource: string; drifts: Drift[]; input: PutScalingPolicyCommandInput; dependsOn: string }
  | StorageWrite;

function updateService(desired: DesiredState, state: ObservedServiceState, drifts: Drift[]): UpdateServiceCommandInput | undefined {
  const live = state.service;
  const spec = desired.spec.ecs.services[drifts[0]!.service];
  if (!live || !spec) return undefined;
  const fields = new Set(drifts.map((d) => d.field));
  const input: UpdateServiceCommandInput = { cluster: desired.spec.ecs.cluster, service: live.name };
  if (fields.has('desiredCount') && spec.desiredCount !== undefined) input.desiredCount = spec.desiredCount;
  if (fields.has('enableExecuteCommand') && spec.enableExecuteCommand !== undefined) input.enableExecuteCommand = spec.enableExecuteCommand;
  if ([...fields].some((f) => f.startsWith('deploymentConfiguration.'))) {
    // Send the whole configuration (live values where the document is silent) so no unmanaged field resets.
    const cur = normalizeDeployment(live.deployment);
    const want = spec.deployment ?? {};
    const strategy = want.strategy ?? cur.strategy;
    const bake = want.bakeTimeMinutes ?? cur.bakeTimeMinutes;
    input.deploymentConfiguration = {
      minimumHealthyPercent: want.minimumHealthyPercent ?? cur.minimumHealthyPercent,
      maximumPercent: want.maximumPercent ?? cur.maximumPercent,
      deploymentCircuitBreaker: want.circuitBreaker ?? cur.circuitBreaker,
      strategy: strategy as NonNullable<UpdateServiceCommandInput['deploymentConfiguration']>['strategy'],
      ...(bake !== undefined ? { bakeTimeInMinutes: bake } : {}),
    };
  }
  return input;
}

function registerTarget(desired: DesiredState, state: ObservedServiceState, service: string): RegisterScalableTargetCommandInput | undefined {
  const a = desired.spec.ecs.services[service]?.autoscaling;
  if (!a || !state.service) return undefined;
  return {
    ServiceNamespace: ECS_SERVICE_NAMESPACE,
    ResourceId: ecsResourceId(desired.spec.ecs.cluster, state.service.name),
    ScalableDimension: ECS_SCALABLE_DIMENSION,
    MinCapacity: a.min,
    MaxCapacity: a.max,
    ...(a.suspended !== undefined
      ? { SuspendedState: { DynamicScalingInSuspended: a.suspended, DynamicScalingOutSuspended: a.suspended, ScheduledScalingSuspended: a.suspended } }
      : {}),
  };
}

function putPolicy(desired: DesiredState, state: ObservedServiceState, service: string, resource: string): PutScalingPolicyCommandInput | undefined {
  if (!state.service) return undefined;
  for (const want of desiredPolicies(desired, service)) {
    const found = findLivePolicy(want, state.policies);
    if (`scaling-policy/${service}/${found?.name ?? want.name}` !== resource) continue;
    const live = found ? normalizePolicy(found) : undefined;
    let metric: Pick<NonNullable<PutScalingPolicyCommandInput['TargetTrackingScalingPolicyConfiguration']>, 'PredefinedMetricSpecification' | 'CustomizedMetricSpecification'>;
    if (want.metric.kind === 'predefined') {
      const label = live?.metric.kind === 'predefined' ? live.metric.resourceLabel : undefined;
      if (want.target === 'requests' && !label) return undefined;
      metric = { PredefinedMetricSpecification: { PredefinedMetricType: want.metric.type as never, ...(label ? { ResourceLabel: label } : {}) } };
    } else if (want.metric.kind === 'customized') {
      metric = {
        CustomizedMetricSpecification: {
          Namespace: want.metric.namespace,
          MetricName: want.metric.metricName,
          Statistic: want.metric.statistic as never,
          Dimensions: want.metric.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
        },
      };
    } else return undefined;
    return {
      PolicyName: found?.name ?? want.name,
      ServiceNamespace: ECS_SERVICE_NAMESPACE,
      ResourceId: ecsResourceId(desired.spec.ecs.cluster, state.service.name),
      ScalableDimension: ECS_SCALABLE_DIMENSION,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: want.targetValue,
        ...metric,
        ScaleInCooldown: want.scaleInCooldownSec ?? live?.scaleInCooldownSec ?? DEFAULT_COOLDOWNS_SEC.scaleIn,
        ScaleOutCooldown: want.scaleOutCooldownSec ?? live?.scaleOutCooldownSec ?? DEFAULT_COOLDOWNS_SEC.scaleOut,
        DisableScaleIn: false,
      },
    };
  }
  return undefined;
}

/**
 * Plans the writes for the drift items whose action is `update` or `create` (others are left alone).
 * @param drifts output of `diff`, in its order (which is already dependency order per service).
 * @returns writes in execution order (services, then storage: one write per drifted storage setting);
 *   drift that maps to no possible write is simply not included.
 */
export function planWrites(desired: DesiredState, observed: { services: Record<string, ObservedServiceState>; storage?: ObservedStorage }, drifts: readonly Drift[]): PlannedWrite[] {
  const groups = new Map<string, Drift[]>();
  for (const d of drifts) {
    if (d.action === 'none') continue;
    const list = groups.get(d.resource) ?? [];
    list.push(d);
    groups.set(d.resource, list);
  }
  const writes: PlannedWrite[] = [];
  for (const [resource, group] of groups) {
    const first = group[0]!;
    const state = observed.services[first.service];
    if (!state) continue;
    if (first.kind === 'ecs-service') {
      const input = updateService(desired, state, group);
      if (input) writes.push({ operation: 'UpdateService', resource, drifts: group, input });
    } else if (first.kind === 'scalable-target') {
      const input = registerTarget(desired, state, first.service);
      if (input) writes.push({ operation: 'RegisterScalableTarget', resource, drifts: group, input });
    } else if (first.kind === 'scaling-policy') {
      const input = putPolicy(desired, state, first.service, resource);
      if (input) writes.push({ operation: 'PutScalingPolicy', resource, drifts: group, input, dependsOn: `scalable-target/${first.service}` });
    }
  }
  writes.push(...planStorageWrites(desired, observed.storage, drifts));
  return writes;
}
