/**
 * Application Auto Scaling operations (target prefix `AnyScaleFrontendService`) for the `ecs` namespace, with the
 * rules of the Application Auto Scaling API Reference: a new scalable target needs MinCapacity and MaxCapacity,
 * registering again updates it (and brings the service's desired count into the new range), deregistering deletes
 * its scaling policies, DescribeScalableTargets pages 1–50 (default 50), DescribeScalingPolicies 1–10
 * (default 10); missing objects give `ObjectNotFoundException`, bad input `ValidationException`.
 */
import { paginate } from './pagination.ts';
import { AwsServiceError, type FieldReader, type Json, type JsonObject } from './wire.ts';
import { policyKey, targetKey, type AwsState, type ScalableTargetRecord, type ScalingPolicyRecord, type ServiceRecord } from './store.ts';
import { seconds } from './ecs-shapes.ts';
import type { Operation } from './ecs-operations.ts';

const INVALID = 'ValidationException';
const NAMESPACES = ['ecs', 'elasticmapreduce', 'ec2', 'appstream', 'dynamodb', 'rds', 'sagemaker', 'custom-resource', 'comprehend', 'lambda', 'cassandra', 'kafka', 'elasticache', 'neptune', 'workspaces'] as const;
const ECS_DIMENSION = 'ecs:service:DesiredCount';
const ECS_PREDEFINED = ['ECSServiceAverageCPUUtilization', 'ECSServiceAverageMemoryUtilization', 'ALBRequestCountPerTarget'] as const;
const STATISTICS = ['Average', 'Minimum', 'Maximum', 'SampleCount', 'Sum'] as const;

function notFoundTarget(ns: string, id: string, dim: string): AwsServiceError {
  return new AwsServiceError('ObjectNotFoundException', `No scalable target registered for service namespace: ${ns}, resource ID: ${id}, scalable dimension: ${dim}`);
}

/** Namespace, resource id and dimension of a request, checked against what the emulator serves. */
function readTarget(r: FieldReader): { ns: string; id: string; dim: string } {
  const ns = r.str('ServiceNamespace', { required: true, oneOf: NAMESPACES });
  const id = r.str('ResourceId', { required: true, maxLength: 1600 });
  const dim = r.str('ScalableDimension', { required: true });
  if (ns !== 'ecs') throw new AwsServiceError(INVALID, `ServiceNamespace: the emulator serves only the ecs namespace, got ${ns}.`);
  if (dim !== ECS_DIMENSION) throw new AwsServiceError(INVALID, `Unsupported scalable dimension: ${dim} for service namespace ecs.`);
  if (!/^service\/[^/]+\/[^/]+$/.test(id)) throw new AwsServiceError(INVALID, `Unsupported resource ID: ${id}. It must look like service/<cluster>/<service>.`);
  return { ns, id, dim };
}

function ecsServiceOf(state: AwsState, resourceId: string): ServiceRecord | undefined {
  const [, cluster, name] = resourceId.split('/');
  return cluster && name ? state.getService(cluster, name) : undefined;
}

const RegisterScalableTarget: Operation = (state, r) => {
  const { ns, id, dim } = readTarget(r);
  const service = ecsServiceOf(state, id);
  if (!service) throw new AwsServiceError(INVALID, `ECS service doesn't exist: ${id}`);
  const key = targetKey(ns, id, dim);
  const existing = state.scalableTargets.get(key);
  const min = r.int('MinCapacity', { min: 0 });
  const max = r.int('MaxCapacity', { min: 0 });
  if (!existing && (min === undefined || max === undefined)) throw new AwsServiceError(INVALID, 'MinCapacity and MaxCapacity are required for registering a new scalable target.');
  const finalMin = min ?? existing!.minCapacity;
  const finalMax = max ?? existing!.maxCapacity;
  if (finalMin > finalMax) throw new AwsServiceError(INVALID, `Minimum capacity cannot be greater than maximum capacity (MinCapacity ${finalMin}, MaxCapacity ${finalMax}).`);
  const ss = r.obj2('SuspendedState');
  const base = existing?.suspendedState ?? { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false };
  const suspendedState = {
    DynamicScalingInSuspended: ss?.bool('DynamicScalingInSuspended') ?? base.DynamicScalingInSuspended,
    DynamicScalingOutSuspended: ss?.bool('DynamicScalingOutSuspended') ?? base.DynamicScalingOutSuspended,
    ScheduledScalingSuspended: ss?.bool('ScheduledScalingSuspended') ?? base.ScheduledScalingSuspended,
  };
  const roleArn = r.str('RoleARN') ?? existing?.roleArn ?? `arn:aws:iam::${state.accountId}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`;
  const tags = r.strMap('Tags');
  const t: ScalableTargetRecord = existing ?? {
    arn: `arn:aws:application-autoscaling:${state.region}:${state.accountId}:scalable-target/${state.nextId('scalable-target').slice(0, 4)}${state.nextId('target-id')}`,
    serviceNamespace: ns, resourceId: id, scalableDimension: dim, minCapacity: finalMin, maxCapacity: finalMax,
    roleArn, createdAtMs: state.now(), suspendedState, tags: tags ?? {},
  };
  t.minCapacity = finalMin;
  t.maxCapacity = finalMax;
  t.suspendedState = suspendedState;
  t.roleArn = roleArn;
  state.scalableTargets.set(key, t);
  // Application Auto Scaling moves the current capacity into a new range at once.
  service.desiredCount = Math.min(Math.max(service.desiredCount, finalMin), finalMax);
  state.settle(service);
  return { ScalableTargetARN: t.arn };
};

function renderTarget(t: ScalableTargetRecord): JsonObject {
  return {
    ServiceNamespace: t.serviceNamespace, ResourceId: t.resourceId, ScalableDimension: t.scalableDimension,
    MinCapacity: t.minCapacity, MaxCapacity: t.maxCapacity, RoleARN: t.roleArn, CreationTime: seconds(t.createdAtMs),
    SuspendedState: { ...t.suspendedState }, ScalableTargetARN: t.arn,
  };
}

const DescribeScalableTargets: Operation = (state, r) => {
  const ns = r.str('ServiceNamespace', { required: true, oneOf: NAMESPACES });
  const ids = r.strList('ResourceIds', { max: 50 });
  const dim = r.str('ScalableDimension');
  const max = r.int('MaxResults', { min: 1, max: 50 }) ?? 50;
  const all = [...state.scalableTargets.values()].filter((t) => t.serviceNamespace === ns && (!ids || ids.includes(t.resourceId)) && (dim === undefined || t.scalableDimension === dim));
  const page = paginate(all, max, r.str('NextToken'), `DescribeScalableTargets|${ns}|${(ids ?? []).join(',')}|${dim ?? ''}`, 'InvalidNextTokenException');
  return { ScalableTargets: page.items.map(renderTarget), NextToken: page.nextToken };
};

const DeregisterScalableTarget: Operation = (state, r) => {
  const { ns, id, dim } = readTarget(r);
  const key = targetKey(ns, id, dim);
  if (!state.scalableTargets.has(key)) throw new AwsServiceError('ObjectNotFoundException', `No scalable target found for service namespace: ${ns}, resource ID: ${id}, scalable dimension: ${dim}`);
  state.scalableTargets.delete(key);
  for (const [k, p] of state.scalingPolicies) if (p.serviceNamespace === ns && p.resourceId === id && p.scalableDimension === dim) state.scalingPolicies.delete(k);
  return {};
};

/** Validates a TargetTrackingScalingPolicyConfiguration and returns a clean copy of it. */
function readTargetTracking(r: FieldReader): JsonObject {
  const c = r.obj2('TargetTrackingScalingPolicyConfiguration', { required: true })!;
  c.num('TargetValue', { required: true, exclusiveMin: 0 });
  const pre = c.obj2('PredefinedMetricSpecification');
  const cust = c.obj2('CustomizedMetricSpecification');
  if ((pre === undefined) === (cust === undefined)) {
    throw new AwsServiceError(INVALID, 'TargetTrackingScalingPolicyConfiguration: exactly one of PredefinedMetricSpecification or CustomizedMetricSpecification is required.');
  }
  if (pre) {
    const type = pre.str('PredefinedMetricType', { required: true, oneOf: ECS_PREDEFINED });
    const label = pre.str('ResourceLabel', { maxLength: 1023 });
    if (type === 'ALBRequestCountPerTarget' && !label) pre.fail('ResourceLabel', 'is required for ALBRequestCountPerTarget.');
  }
  if (cust) {
    const metrics = cust.objList('Metrics', { minItems: 1, max: 10 });
    if (metrics) {
      for (const m of metrics) {
        m.str('Id', { required: true, pattern: /^[a-z][a-zA-Z0-9_]*$/ });
        if (m.has('Expression') === m.has('MetricStat')) m.fail('Expression', 'or MetricStat: exactly one is required.');
        const stat = m.obj2('MetricStat');
        if (stat) {
          const metric = stat.obj2('Metric', { required: true })!;
          metric.str('MetricName', { required: true });
          metric.str('Namespace', { required: true });
          stat.str('Stat', { required: true });
        }
      }
      if (metrics.filter((m) => m.bool('ReturnData') !== false).length !== 1) cust.fail('Metrics', 'must have exactly one item that returns data (ReturnData true).');
    } else {
      cust.str('MetricName', { required: true });
      cust.str('Namespace', { required: true });
      cust.str('Statistic', { required: true, oneOf: STATISTICS });
      for (const d of cust.objList('Dimensions') ?? []) {
        d.str('Name', { required: true });
        d.str('Value', { required: true });
      }
    }
  }
  c.int('ScaleOutCooldown', { min: 0, max: 31_536_000 });
  c.int('ScaleInCooldown', { min: 0, max: 31_536_000 });
  c.bool('DisableScaleIn');
  return structuredClone(c.raw) as JsonObject;
}

const PutScalingPolicy: Operation = (state, r) => {
  const name = r.str('PolicyName', { required: true, maxLength: 256 });
  if (/[:/]/.test(name)) r.fail('PolicyName', 'cannot contain ":" or "/".');
  const { ns, id, dim } = readTarget(r);
  const type = r.str('PolicyType', { oneOf: ['TargetTrackingScaling', 'StepScaling', 'PredictiveScaling'] }) ?? 'StepScaling';
  if (type === 'PredictiveScaling') throw new AwsServiceError(INVALID, 'PolicyType: the emulator does not implement PredictiveScaling.');
  const targetTracking = type === 'TargetTrackingScaling' ? readTargetTracking(r) : undefined;
  const stepScaling = type === 'StepScaling' ? (structuredClone(r.obj2('StepScalingPolicyConfiguration', { required: true })!.raw) as JsonObject) : undefined;
  if (!state.scalableTargets.has(targetKey(ns, id, dim))) throw notFoundTarget(ns, id, dim);
  const key = policyKey(ns, id, dim, name);
  const existing = state.scalingPolicies.get(key);
  const uuid = existing ? undefined : state.nextUuid('policy');
  const alarms: ScalingPolicyRecord['alarms'] = [];
  if (targetTracking) {
    const alarmId = state.nextUuid('alarm');
    const kinds = targetTracking.DisableScaleIn === true ? ['AlarmHigh'] : ['AlarmHigh', 'AlarmLow'];
    for (const k of kinds) {
      const alarmName = `TargetTracking-${id}-${k}-${alarmId}`;
      alarms.push({ AlarmName: alarmName, AlarmARN: `arn:aws:cloudwatch:${state.region}:${state.accountId}:alarm:${alarmName}` });
    }
  }
  const p: ScalingPolicyRecord = {
    arn: existing?.arn ?? `arn:aws:autoscaling:${state.region}:${state.accountId}:scalingPolicy:${uuid}:resource/${ns}/${id}:policyName/${name}`,
    name, serviceNamespace: ns, resourceId: id, scalableDimension: dim,
    policyType: type as ScalingPolicyRecord['policyType'],
    ...(targetTracking ? { targetTracking } : {}),
    ...(stepScaling ? { stepScaling } : {}),
    alarms,
    createdAtMs: existing?.createdAtMs ?? state.now(),
  };
  state.scalingPolicies.set(key, p);
  return { PolicyARN: p.arn, Alarms: alarms.map((a) => ({ ...a })) };
};

function renderPolicy(p: ScalingPolicyRecord): JsonObject {
  return {
    PolicyARN: p.arn, PolicyName: p.name, ServiceNamespace: p.serviceNamespace, ResourceId: p.resourceId,
    ScalableDimension: p.scalableDimension, PolicyType: p.policyType,
    TargetTrackingScalingPolicyConfiguration: p.targetTracking ? (structuredClone(p.targetTracking) as Json) : undefined,
    StepScalingPolicyConfiguration: p.stepScaling ? (structuredClone(p.stepScaling) as Json) : undefined,
    Alarms: p.alarms.map((a) => ({ ...a })), CreationTime: seconds(p.createdAtMs),
  };
}

const DescribeScalingPolicies: Operation = (state, r) => {
  const ns = r.str('ServiceNamespace', { required: true, oneOf: NAMESPACES });
  const names = r.strList('PolicyNames', { max: 50 });
  const id = r.str('ResourceId');
  const dim = r.str('ScalableDimension');
  const max = r.int('MaxResults', { min: 1, max: 10 }) ?? 10;
  const all = [...state.scalingPolicies.values()].filter(
    (p) => p.serviceNamespace === ns && (!names || names.includes(p.name)) && (id === undefined || p.resourceId === id) && (dim === undefined || p.scalableDimension === dim),
  );
  const page = paginate(all, max, r.str('NextToken'), `DescribeScalingPolicies|${ns}|${(names ?? []).join(',')}|${id ?? ''}|${dim ?? ''}`, 'InvalidNextTokenException');
  return { ScalingPolicies: page.items.map(renderPolicy), NextToken: page.nextToken };
};

const DeleteScalingPolicy: Operation = (state, r) => {
  const name = r.str('PolicyName', { required: true });
  const { ns, id, dim } = readTarget(r);
  const key = policyKey(ns, id, dim, name);
  if (!state.scalingPolicies.has(key)) {
    throw new AwsServiceError('ObjectNotFoundException', `No scaling policy found for service namespace: ${ns}, resource ID: ${id}, scalable dimension: ${dim}, policy name: ${name}`);
  }
  state.scalingPolicies.delete(key);
  return {};
};

/** Every Application Auto Scaling operation the emulator serves, by name. */
export const AUTOSCALING_OPERATIONS: Readonly<Record<string, Operation>> = {
  RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget, PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy,
};
