/**
 * Normalisation before comparison (ecspresso's `ServiceDefinitionForDiff` habit): server-filled defaults are
 * made explicit, lists sorted, units turned into numbers, and the desired autoscaling block expanded into the
 * policies it stands for. Each false-drift case found later is one more line here plus one test row.
 *
 * The rule that matters most lives in {@link managesDesiredCount}: a service that autoscales never has its live
 * desiredCount compared. Copilot's `DynamicDesiredCountAction` keeps the running count across deploys and
 * Application Auto Scaling moves it all day, so a live count different from `min` is expected, not drift
 * (reference/copilot-manifests.md §2; the terraform#10308 / argo-cd#1079 class of bugs,
 * reference/operator-anchors.md §5 and §4).
 */
import type { Autoscaling, DesiredState, ManagementMode, ServiceSpec } from '../../services/platform/desired-state.ts';
import type { ObservedDeployment, ObservedPolicy, ObservedService, PolicyMetric } from '../types.ts';

/** Which autoscaling target a policy implements. */
export type PolicyTarget = 'cpu' | 'requests' | 'queueDepth';

/**
 * Stable names of the policies the reconciler creates. A live policy on the same metric under another name
 * (e.g. one Copilot generated) is adopted and updated under its own name instead of being duplicated.
 */
export const POLICY_NAMES: Readonly<Record<PolicyTarget, string>> = {
  cpu: 'ct-cpu-target',
  requests: 'ct-requests-target',
  queueDepth: 'ct-queue-depth-target',
};

/** The `spec…autoscaling` key behind each policy. */
export const POLICY_SPEC_KEYS: Readonly<Record<PolicyTarget, keyof Autoscaling>> = {
  cpu: 'targetCpuPercent',
  requests: 'targetRequestsPerTarget',
  queueDepth: 'targetQueueDepthPerTask',
};

/** Predefined metric of ECS average CPU (Application Auto Scaling PredefinedMetricSpecification). */
export const CPU_METRIC_TYPE = 'ECSServiceAverageCPUUtilization';
/** Predefined metric of ALB requests per target; needs a ResourceLabel naming the ALB and target group. */
export const REQUESTS_METRIC_TYPE = 'ALBRequestCountPerTarget';

/**
 * The worker's queue-depth metric: CloudWatch namespace `ContentTrends`, metric `QueueDepthPerTask` = BullMQ
 * waiting jobs ÷ running worker tasks, published by the reconciler service after each pass
 * (`controller/queue-depth/`), with dimensions `Application` and `Environment` (the document's metadata). Statistic `Average` over the period, as target
 * tracking expects a metric that falls when capacity rises (Application Auto Scaling user guide, "target
 * tracking with a customized metric": backlog per task).
 */
export const QUEUE_DEPTH_METRIC = { namespace: 'ContentTrends', metricName: 'QueueDepthPerTask', statistic: 'Average' } as const;

/** Cooldowns used when the document sets none: Copilot's template defaults, 120 s in / 60 s out (copilot-manifests.md §2). */
export const DEFAULT_COOLDOWNS_SEC = { scaleIn: 120, scaleOut: 60 } as const;

/**
 * Cooldown Application Auto Scaling applies to an ECS policy that was created without one, seconds
 * (Application Auto Scaling user guide, "Define cooldown periods": 300 s for ECS services; ≈, re-check).
 */
export const AAS_DEFAULT_COOLDOWN_SEC = 300;

/** ECS deployment configuration defaults for a REPLICA service (ECS API reference, DeploymentConfiguration). */
export const ECS_DEPLOYMENT_DEFAULTS = {
  strategy: 'ROLLING',
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  circuitBreaker: { enable: false, rollback: false },
} as const;

/** A target-tracking policy the desired state asks for. */
export interface DesiredPolicy {
  target: PolicyTarget;
  /** Name used when creating it. */
  name: string;
  metric: PolicyMetric;
  targetValue: number;
  /** Compared only when the document sets them; used (with defaults) when writing. */
  scaleInCooldownSec?: number;
  scaleOutCooldownSec?: number;
}

/** A service's effective mode: its own `mode`, else `spec.management.mode`. */
export function serviceMode(desired: DesiredState, service: string): ManagementMode {
  return desired.spec.ecs.services[service]?.mode ?? desired.spec.management.mode;
}

/** Whether the desired state manages the live desiredCount: only for a fixed count, never with autoscaling. */
export function managesDesiredCount(spec: ServiceSpec): spec is ServiceSpec & { desiredCount: number } {
  return spec.autoscaling === undefined && spec.desiredCount !== undefined;
}

/** Tags a Copilot-deployed service carries (copilot-manifests.md §2), used by default discovery. */
export function copilotTags(desired: DesiredState, service: string): Record<string, string> {
  return {
    'copilot-application': desired.metadata.app,
    'copilot-environment': desired.metadata.environment,
    'copilot-service': service,
  };
}

/** Expands `autoscaling` into its policies, in a fixed order (cpu, requests, queueDepth). */
export function desiredPolicies(desired: DesiredState, service: string): DesiredPolicy[] {
  const a = desired.spec.ecs.services[service]?.autoscaling;
  if (!a) return [];
  const cooldowns = {
    ...(a.scaleInCooldownSec !== undefined ? { scaleInCooldownSec: a.scaleInCooldownSec } : {}),
    ...(a.scaleOutCooldownSec !== undefined ? { scaleOutCooldownSec: a.scaleOutCooldownSec } : {}),
  };
  const out: DesiredPolicy[] = [];
  if (a.targetCpuPercent !== undefined) {
    out.push({ target: 'cpu', name: POLICY_NAMES.cpu, metric: { kind: 'predefined', type: CPU_METRIC_TYPE }, targetValue: a.targetCpuPercent, ...cooldowns });
  }
  if (a.targetRequestsPerTarget !== undefined) {
    out.push({ target: 'requests', name: POLICY_NAMES.requests, metric: { kind: 'predefined', type: REQUESTS_METRIC_TYPE }, targetValue: a.targetRequestsPerTarget, ...cooldowns });
  }
  if (a.targetQueueDepthPerTask !== undefined) {
    out.push({
      target: 'queueDepth',
      name: POLICY_NAMES.queueDepth,
      metric: {
        kind: 'customized',
        namespace: QUEUE_DEPTH_METRIC.namespace,
        metricName: QUEUE_DEPTH_METRIC.metricName,
        statistic: QUEUE_DEPTH_METRIC.statistic,
        dimensions: sortDimensions([
          { name: 'Application', value: desired.metadata.app },
          { name: 'Environment', value: desired.metadata.environment },
        ]),
      },
      targetValue: a.targetQueueDepthPerTask,
      ...cooldowns,
    });
  }
  return out;
}

/** Whether a live policy follows the same metric as a desired one (predefined type, or namespace + name). */
export function sameMetric(desired: PolicyMetric, live: PolicyMetric): boolean {
  if (desired.kind === 'predefined' && live.kind === 'predefined') return desired.type === live.type;
  if (desired.kind === 'customized' && live.kind === 'customized') {
    return desired.namespace === live.namespace && desired.metricName === live.metricName;
  }
  return false;
}

/**
 * The live policy implementing a desired one: a target-tracking policy on the same metric, preferring the
 * reconciler's stable name, then the first by name (so the choice does not depend on API order).
 */
export function findLivePolicy(want: DesiredPolicy, live: readonly ObservedPolicy[]): ObservedPolicy | undefined {
  const candidates = live
    .filter((p) => p.policyType === 'TargetTrackingScaling' && sameMetric(want.metric, p.metric))
    .sort((a, b) => (a.name === want.name ? -1 : b.name === want.name ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return candidates[0];
}

/** Dimensions sorted by name then value: CloudWatch treats them as a set. */
export function sortDimensions(d: readonly { name: string; value: string }[]): { name: string; value: string }[] {
  return [...d].sort((a, b) => (a.name === b.name ? (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) : a.name < b.name ? -1 : 1));
}

/** A live policy with the server defaults made explicit and its dimensions sorted. */
export function normalizePolicy(p: ObservedPolicy): Required<Pick<ObservedPolicy, 'scaleInCooldownSec' | 'scaleOutCooldownSec' | 'disableScaleIn'>> & ObservedPolicy {
  return {
    ...p,
    metric: p.metric.kind === 'customized' ? { ...p.metric, dimensions: sortDimensions(p.metric.dimensions) } : p.metric,
    scaleInCooldownSec: p.scaleInCooldownSec ?? AAS_DEFAULT_COOLDOWN_SEC,
    scaleOutCooldownSec: p.scaleOutCooldownSec ?? AAS_DEFAULT_COOLDOWN_SEC,
    disableScaleIn: p.disableScaleIn ?? false,
  };
}

/** A live deployment configuration with ECS's defaults made explicit. */
export function normalizeDeployment(d: ObservedDeployment): Required<Omit<ObservedDeployment, 'bakeTimeMinutes'>> & ObservedDeployment {
  return {
    ...d,
    strategy: d.strategy ?? ECS_DEPLOYMENT_DEFAULTS.strategy,
    minimumHealthyPercent: d.minimumHealthyPercent ?? ECS_DEPLOYMENT_DEFAULTS.minimumHealthyPercent,
    maximumPercent: d.maximumPercent ?? ECS_DEPLOYMENT_DEFAULTS.maximumPercent,
    circuitBreaker: d.circuitBreaker ?? { ...ECS_DEPLOYMENT_DEFAULTS.circuitBreaker },
  };
}

/** A live service with defaults explicit (`enableExecuteCommand` false when absent). */
export function normalizeService(s: ObservedService): ObservedService & { enableExecuteCommand: boolean } {
  return { ...s, deployment: normalizeDeployment(s.deployment), enableExecuteCommand: s.enableExecuteCommand ?? false };
}

/**
 * Task-definition CPU as CPU units: `"256"` → 256, `"0.25 vCPU"` → 256, `"1 vCPU"` → 1024
 * (ECS task definition parameters, "Task size"). `undefined` when absent or unreadable.
 */
export function cpuUnits(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(text);
  if (!m) return undefined;
  return m[2] ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}

/** Task-definition memory as MiB: `"512"` → 512, `"1 GB"` → 1024, `"2GB"` → 2048. */
export function memoryMiB(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$/i.exec(text);
  if (!m) return undefined;
  return m[2] && /^g/i.test(m[2]) ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}
