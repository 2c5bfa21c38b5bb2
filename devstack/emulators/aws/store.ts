/**
 * In-memory state of the AWS emulator: ECS clusters, task definitions and services, and Application Auto Scaling
 * scalable targets and scaling policies, CloudWatch datapoints, plus the ARN formats the real services use
 * (`arn:aws:ecs:<region>:<account>:service/<cluster>/<name>`, Amazon ECS API Reference "Amazon Resource Names").
 * Tests read it through `AwsEmulator.state`; operations mutate it. Times are epoch milliseconds here and are
 * turned into epoch seconds (the JSON 1.1 timestamp format) when rendered.
 */
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from './wire.ts';
import { MetricStore } from './cloudwatch-store.ts';

/** An ECS tag (`{ key, value }`, lower case as in the ECS API). */
export interface EcsTag {
  key: string;
  value: string;
}

/** An ECS cluster. */
export interface ClusterRecord {
  arn: string;
  name: string;
  status: 'ACTIVE';
  createdAtMs: number;
  tags: EcsTag[];
  settings: { name: string; value: string }[];
}

/** One revision of a task definition family. `spec` holds the registered fields as sent. */
export interface TaskDefinitionRecord {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  registeredAtMs: number;
  spec: JsonObject;
  tags: EcsTag[];
}

/** Deployment strategies of the ECS deployment controller (API_DeploymentConfiguration). */
export const DEPLOYMENT_STRATEGIES = ['ROLLING', 'BLUE_GREEN', 'LINEAR', 'CANARY'] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/** A service's deployment configuration with the server defaults applied (max 200 %, min 100 %, breaker off). */
export interface DeploymentConfigurationState {
  deploymentCircuitBreaker: { enable: boolean; rollback: boolean };
  maximumPercent: number;
  minimumHealthyPercent: number;
  strategy: DeploymentStrategy;
  bakeTimeInMinutes?: number;
  alarms?: { alarmNames: string[]; enable: boolean; rollback: boolean };
}

/** One deployment of a service. The first of `ServiceRecord.deployments` is the PRIMARY one. */
export interface DeploymentRecord {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  createdAtMs: number;
  updatedAtMs: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED';
  rolloutStateReason: string;
}

/** An ECS service. */
export interface ServiceRecord {
  arn: string;
  name: string;
  clusterName: string;
  clusterArn: string;
  status: 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  launchType: string;
  platformVersion?: string;
  deploymentConfiguration: DeploymentConfigurationState;
  deployments: DeploymentRecord[];
  createdAtMs: number;
  createdBy: string;
  tags: EcsTag[];
  enableExecuteCommand: boolean;
  enableECSManagedTags: boolean;
  propagateTags: string;
  schedulingStrategy: string;
  deploymentControllerType: string;
  networkConfiguration?: Json;
  loadBalancers: Json[];
  healthCheckGracePeriodSeconds?: number;
}

/** Suspension flags of a scalable target (API_SuspendedState). */
export interface SuspendedState {
  DynamicScalingInSuspended: boolean;
  DynamicScalingOutSuspended: boolean;
  ScheduledScalingSuspended: boolean;
}

/** An Application Auto Scaling scalable target. */
export interface ScalableTargetRecord {
  arn: string;
  serviceNamespace: string;
  resourceId: string;
  scalableDimension: string;
  minCapacity: number;
  maxCapacity: number;
  roleArn: string;
  createdAtMs: number;
  suspendedState: SuspendedState;
  tags: Record<string, string>;
}

/** A scaling policy; `targetTracking` / `stepScaling` hold the configuration as validated. */
export interface ScalingPolicyRecord {
  arn: string;
  name: string;
  serviceNamespace: string;
  resourceId: string;
  scalableDimension: string;
  policyType: 'TargetTrackingScaling' | 'StepScaling';
  targetTracking?: JsonObject;
  stepScaling?: JsonObject;
  alarms: { AlarmName: string; AlarmARN: string }[];
  createdAtMs: number;
}

/** Where and how the emulated account lives. */
export interface StateOptions {
  accountId: string;
  region: string;
  /** How long a new deployment stays IN_PROGRESS, in ms (0: deployments complete at once). */
  rolloutMs: number;
  /** Clock in epoch ms (tests may pass a fake one). */
  now: () => number;
}

/** The emulator's whole state. Maps keep insertion order, which is the order listings return. */
export class AwsState {
  readonly clusters = new Map<string, ClusterRecord>();
  /** Revisions by family, revision 1 first. */
  readonly taskDefinitions = new Map<string, TaskDefinitionRecord[]>();
  /** Services by cluster name, then service name. */
  readonly services = new Map<string, Map<string, ServiceRecord>>();
  /** Scalable targets by `namespace|resourceId|dimension`. */
  readonly scalableTargets = new Map<string, ScalableTargetRecord>();
  /** Scaling policies by `namespace|resourceId|dimension|policyName`. */
  readonly scalingPolicies = new Map<string, ScalingPolicyRecord>();
  /** CloudWatch datapoints accepted by PutMetricData. */
  readonly metrics = new MetricStore();
  private seq = 0;

  constructor(readonly options: StateOptions) {}

  /** Account id used in ARNs. */
  get accountId(): string {
    return this.options.accountId;
  }

  /** Region used in ARNs. */
  get region(): string {
    return this.options.region;
  }

  /** The clock, epoch ms. */
  now(): number {
    return this.options.now();
  }

  /** `arn:aws:ecs:<region>:<account>:cluster/<name>`. */
  clusterArn(name: string): string {
    return `arn:aws:ecs:${this.region}:${this.accountId}:cluster/${name}`;
  }

  /** `arn:aws:ecs:<region>:<account>:service/<cluster>/<name>` (the long ARN format). */
  serviceArn(cluster: string, name: string): string {
    return `arn:aws:ecs:${this.region}:${this.accountId}:service/${cluster}/${name}`;
  }

  /** `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>`. */
  taskDefinitionArn(family: string, revision: number): string {
    return `arn:aws:ecs:${this.region}:${this.accountId}:task-definition/${family}:${revision}`;
  }

  /** A fresh identifier, deterministic for a given sequence of calls: 32 hex digits. */
  nextId(kind: string): string {
    this.seq += 1;
    return createHash('sha256').update(`${kind}:${this.seq}:${this.accountId}`).digest('hex').slice(0, 32);
  }

  /** A UUID-shaped identifier built from {@link nextId}. */
  nextUuid(kind: string): string {
    const h = this.nextId(kind);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  /** The service, or undefined. */
  getService(cluster: string, name: string): ServiceRecord | undefined {
    const s = this.services.get(cluster)?.get(name);
    if (s) this.settle(s);
    return s;
  }

  /** All services of a cluster, in creation order, settled. */
  servicesOf(cluster: string): ServiceRecord[] {
    const list = [...(this.services.get(cluster)?.values() ?? [])];
    for (const s of list) this.settle(s);
    return list;
  }

  /** The scalable target, or undefined. */
  getScalableTarget(resourceId: string, scalableDimension = 'ecs:service:DesiredCount', serviceNamespace = 'ecs'): ScalableTargetRecord | undefined {
    return this.scalableTargets.get(targetKey(serviceNamespace, resourceId, scalableDimension));
  }

  /** The scaling policies attached to a resource, in creation order. */
  getScalingPolicies(resourceId: string): ScalingPolicyRecord[] {
    return [...this.scalingPolicies.values()].filter((p) => p.resourceId === resourceId);
  }

  /**
   * Brings a service's deployments up to date with the clock: a PRIMARY deployment older than `rolloutMs`
   * completes (its tasks run, older deployments drain away); counts follow the desired count.
   */
  settle(s: ServiceRecord): void {
    const primary = s.deployments[0];
    if (!primary) return;
    const now = this.now();
    if (primary.rolloutState === 'IN_PROGRESS' && now - primary.createdAtMs >= this.options.rolloutMs) {
      primary.rolloutState = 'COMPLETED';
      primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
      primary.updatedAtMs = now;
      s.deployments = [primary];
    }
    primary.desiredCount = s.desiredCount;
    if (primary.rolloutState === 'COMPLETED') {
      primary.runningCount = s.desiredCount;
      primary.pendingCount = 0;
    } else {
      primary.runningCount = 0;
      primary.pendingCount = s.desiredCount;
    }
  }

  /** Starts a new PRIMARY deployment of `taskDefinition`; the previous ones become ACTIVE until it completes. */
  startDeployment(s: ServiceRecord, taskDefinition: string): DeploymentRecord {
    const now = this.now();
    for (const d of s.deployments) d.status = 'ACTIVE';
    const d: DeploymentRecord = {
      id: `ecs-svc/${BigInt(`0x${this.nextId('deployment').slice(0, 15)}`).toString().padStart(19, '0').slice(0, 19)}`,
      status: 'PRIMARY',
      taskDefinition,
      desiredCount: s.desiredCount,
      runningCount: 0,
      pendingCount: s.desiredCount,
      createdAtMs: now,
      updatedAtMs: now,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment in progress.',
    };
    s.deployments = [d, ...s.deployments];
    this.settle(s);
    return d;
  }
}

/** Map key of a scalable target. */
export function targetKey(namespace: string, resourceId: string, dimension: string): string {
  return `${namespace}|${resourceId}|${dimension}`;
}

/** Map key of a scaling policy. */
export function policyKey(namespace: string, resourceId: string, dimension: string, name: string): string {
  return `${namespace}|${resourceId}|${dimension}|${name}`;
}
