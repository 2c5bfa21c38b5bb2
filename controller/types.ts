/**
 * The reconciler's contract: what it wants (DesiredState), what it saw (ObservedState), what differs (Drift),
 * what it wrote (AuditRecord) and what one pass returns (ReconcileResult). Stages (observe, diff, act, report)
 * exchange only these types.
 */
import type { LifecycleRule } from '@aws-sdk/client-s3';
import type { SignedIdentifier } from '@azure/storage-blob';
import type { ManagementMode } from '../services/platform/desired-state.ts';

export type {
  DesiredState,
  ServiceSpec,
  Autoscaling,
  Deployment,
  ManagementMode,
  ModelSpec,
} from '../services/platform/desired-state.ts';

/** Application Auto Scaling dimension of an ECS service's task count (Application Auto Scaling API reference). */
export const ECS_SCALABLE_DIMENSION = 'ecs:service:DesiredCount';
/** Application Auto Scaling namespace of ECS. */
export const ECS_SERVICE_NAMESPACE = 'ecs';

/** Application Auto Scaling resource id of an ECS service: `service/<cluster>/<service>`. */
export function ecsResourceId(cluster: string, service: string): string {
  return `service/${cluster}/${service}`;
}

/** An ECS service's deployment configuration as observed (fields absent when the API omitted them). */
export interface ObservedDeployment {
  strategy?: string;
  bakeTimeMinutes?: number;
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  circuitBreaker?: { enable: boolean; rollback: boolean };
}

/** A live ECS service, reduced to what the reconciler manages or reports. */
export interface ObservedService {
  arn: string;
  name: string;
  clusterArn: string;
  status: string;
  /** Live desired count. Never compared for an autoscaled service (copilot-manifests.md §2). */
  desiredCount: number;
  runningCount: number;
  deployment: ObservedDeployment;
  enableExecuteCommand?: boolean;
  taskDefinitionArn: string;
  /** CPU units and memory MiB of the running task definition, when it was read. */
  taskDefinition?: { cpu?: number; memory?: number };
  tags: Record<string, string>;
  targetGroupArns: string[];
}

/** A live Application Auto Scaling scalable target of an ECS service. */
export interface ObservedScalableTarget {
  /** `service/<cluster>/<service>`. */
  resourceId: string;
  minCapacity: number;
  maxCapacity: number;
  suspended: { dynamicScalingIn?: boolean; dynamicScalingOut?: boolean; scheduled?: boolean };
}

/** The metric a target-tracking policy follows. */
export type PolicyMetric =
  | { kind: 'predefined'; type: string; resourceLabel?: string }
  | {
      kind: 'customized';
      namespace: string;
      metricName: string;
      statistic?: string;
      unit?: string;
      dimensions: { name: string; value: string }[];
    }
  | { kind: 'other' };

/** A live scaling policy of a scalable target. */
export interface ObservedPolicy {
  name: string;
  arn: string;
  /** `TargetTrackingScaling` or `StepScaling`. */
  policyType: string;
  metric: PolicyMetric;
  targetValue?: number;
  scaleInCooldownSec?: number;
  scaleOutCooldownSec?: number;
  disableScaleIn?: boolean;
}

/** What one pass saw of one desired service. */
export interface ObservedServiceState {
  /** `undefined`: no live service matched the discovery rule. */
  service?: ObservedService;
  /** `undefined`: no scalable target registered for the service. */
  scalableTarget?: ObservedScalableTarget;
  policies: ObservedPolicy[];
  /** Set when the service could not be observed (ambiguous discovery, API error): it is not diffed. */
  error?: string;
}

/**
 * A setting the endpoint cannot report because it does not implement the operation (s3rver answers 501
 * NotImplemented to the bucket lifecycle, encryption and public-access calls: reference/standin-pitfalls.md §1).
 */
export interface Unsupported {
  unsupported: string;
}

/** Live bucket documents a write must keep intact, as read (absent when the read was unsupported). */
export interface BucketDocuments {
  /** `arn:<partition>:s3:::<bucket>`, for policy statements. */
  arn: string;
  /** Every lifecycle rule, the reconciler's own included; `[]` when there is no configuration. */
  lifecycleRules?: LifecycleRule[];
  /** The bucket policy JSON as read; `null` when the bucket has none. */
  policy?: string | null;
  /** `BucketKeyEnabled` of the default-encryption rule, when it says. */
  bucketKeyEnabled?: boolean;
}

/** The S3 temporary-video bucket as observed. Absent fields were not read. */
export interface ObservedBucket {
  name: string;
  exists: boolean;
  /** Days after which the reconciler's lifecycle rule expires objects; `null` when the rule is absent, disabled or narrowed. */
  expireAfterDays?: number | null | Unsupported;
  /** Default encryption algorithm (`AES256`, `aws:kms`, …); `null` when none is configured. */
  encryption?: string | null | Unsupported;
  /** Whether all four S3 Block Public Access settings are on. */
  blockPublicAccess?: boolean | Unsupported;
  /** Whether a bucket-policy statement denies every request not made over TLS (`aws:SecureTransport` false). */
  tlsOnly?: boolean | Unsupported;
  /** What the writes preserve. */
  documents?: BucketDocuments;
}

/** The keyframes Blob container as observed. */
export interface ObservedContainer {
  name: string;
  exists: boolean;
  /** `none` when private, else the public access level (`blob`, `container`). Absent when the container does not exist. */
  publicAccess?: string;
  /** Stored access policies of the container, kept when its public access is turned off. */
  signedIdentifiers?: SignedIdentifier[];
  /** Blob soft-delete retention days of the account (read whether the container exists or not); `null` when soft delete is off. */
  softDeleteDays?: number | null;
}

/** Storage observation; each entry is absent when not configured, or `{ error }` when it could not be read. */
export interface ObservedStorage {
  s3TempBucket?: ObservedBucket | { error: string };
  keyframes?: ObservedContainer | { error: string };
}

/** What a declared Azure AI model endpoint answered to `GET /info`. */
export interface ObservedAiModel {
  /** Registry name (`spec.azure.models[].name`). */
  name: string;
  endpoint: string;
  /** The `model` the document declares. */
  declaredModel: string;
  /** `model_name` the endpoint reported; absent with `error` or `notServed`. */
  reportedModel?: string;
  /** The endpoint answered 404 for the declared model (its answer): the model is not deployed there. */
  notServed?: string;
  provider?: string;
  /** Why the endpoint could not be observed (unreachable, HTTP error, refused http). */
  error?: string;
}

/** Everything one pass read. */
export interface ObservedState {
  cluster: { name: string; arn?: string };
  /** Keyed by the desired service name (the key in `spec.ecs.services`). */
  services: Record<string, ObservedServiceState>;
  /** Storage policies, when the pass had storage clients. */
  storage?: ObservedStorage;
  /** Declared model endpoints, when the pass had an AI credential. */
  aiModels?: ObservedAiModel[];
  /** ISO 8601 time the observation finished. */
  observedAt: string;
}

/** What the actuator would do about a drift; `none` when it cannot or may not (observe mode, observe-only field). */
export type DriftAction = 'update' | 'create' | 'none';

/** Kinds of managed resources. */
export type ResourceKind = 'ecs-service' | 'scalable-target' | 'scaling-policy' | 'task-definition' | 's3-bucket' | 'blob-container' | 'ai-model';

/** One difference between desired and observed state. */
export interface Drift {
  /** Resource id in the report: `ecs-service/api`, `scalable-target/worker`, `scaling-policy/worker/ct-cpu-target`. */
  resource: string;
  kind: ResourceKind;
  /** The desired service key the resource belongs to; `storage` for storage resources. */
  service: string;
  /** JSON pointer into the desired-state document (what `management.ignore` matches). */
  path: string;
  /** Name of the live field, e.g. `maxCapacity`, `deploymentConfiguration.strategy`. */
  field: string;
  desired: unknown;
  /** `null` when the resource does not exist. */
  actual: unknown;
  action: DriftAction;
  reason: string;
}

/** Outcome of one write (or of a write not made). */
export type WriteOutcome = 'applied' | 'failed' | 'dry-run' | 'deferred';

/** Audit trail entry: one per field a write changed (or would have changed). */
export interface AuditRecord {
  resource: string;
  field: string;
  before: unknown;
  after: unknown;
  /** ISO 8601 time of the write. */
  time: string;
  /** API operation, e.g. `RegisterScalableTarget`, `PutBucketPolicy`, `SetContainerAccessPolicy`. */
  operation: string;
  outcome: WriteOutcome;
  error?: string;
}

/**
 * Status of one resource after the pass: `Unsupported` when nothing differs in what could be read but the
 * endpoint does not implement some of the reads ("Unsupported by endpoint", e.g. s3rver).
 */
export type ResourceStatus = 'Synced' | 'Drifted' | 'Error' | 'Unsupported';

/** One resource in a report. */
export interface ResourceReport {
  resource: string;
  kind: ResourceKind;
  service: string;
  /** Live identifier (service ARN, scalable target resource id, policy ARN) when known. */
  liveId?: string;
  status: ResourceStatus;
  reasons: string[];
  drifts: Drift[];
  /** Live fields this pass wrote (its write was applied), when it wrote any. */
  written?: string[];
  /** Drifted fields this pass meant to write but did not (write failed or deferred), when any. */
  unwritten?: string[];
}

/** Counters of a report. */
export interface ReportSummary {
  resources: number;
  synced: number;
  drifted: number;
  errors: number;
  unsupported: number;
  /** Drift items found this pass (ignored ones excluded). */
  drifts: number;
  /** Drift items dropped by `management.ignore`. */
  ignored: number;
  toCreate: number;
  toUpdate: number;
  /** Drift the reconciler cannot or may not correct (action `none`). */
  unmanageable: number;
  writes: Record<WriteOutcome, number>;
  /** AWS API calls made during the pass (reads and writes, retries included). */
  apiCalls: number;
}

/** A drift report: the machine form of one pass (`schemas/drift-report.schema.json`). */
export interface DriftReport {
  apiVersion: 'content-trends/v1';
  kind: 'DriftReport';
  metadata: {
    app: string;
    environment: string;
    /** Desired-state file the pass read. */
    source: string;
    cluster: string;
    clusterArn?: string;
    passId: string;
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    mode: ManagementMode;
    dryRun: boolean;
    /** `plan` (read only) or `apply` (actuators allowed). */
    intent: 'plan' | 'apply';
  };
  summary: ReportSummary;
  resources: ResourceReport[];
  audit: AuditRecord[];
  /** Failures of the pass itself (observation errors, failed writes), each with its resource when known. */
  errors: { resource?: string; message: string }[];
}

/** What one pass returns (controller-runtime's `Result{RequeueAfter}`; the loop adds jitter and back-off). */
export interface ReconcileResult {
  report: DriftReport;
  /** When to run the next pass, ms. */
  requeueAfterMs: number;
  /** What the pass read (before its writes); absent when the cluster could not be observed. */
  observed?: ObservedState;
}

