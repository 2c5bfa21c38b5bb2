/**
 * Types of a desired-state document (`desired-state/<env>.yml`), mirroring `schemas/desired-state.schema.json`
 * field by field. A value of these types has passed the schema and the semantic checks of
 * `services/platform/desired-state.ts`. Optional fields left unset are not managed by the reconciler.
 */

/** `enforce` corrects drift; `observe` only reports it (Crossplane `Observe`, ACK read-only). */
export type ManagementMode = 'enforce' | 'observe';

/** `spec.management`: how the reconciler treats this environment. */
export interface Management {
  mode: ManagementMode;
  /** Go-style duration between passes (`60s`, `5m`); parse with `parseDurationMs`. */
  interval?: string;
  /** Plan every write but perform none. */
  dryRun?: boolean;
  /** JSON pointers into this document whose drift is ignored; `*` matches one segment. */
  ignore?: string[];
  /** Blast-radius cap on writes in one pass. */
  maxWritesPerPass?: number;
}

/** How to find a live ECS service: by exact name, or by tags that must all match. */
export interface ServiceDiscovery {
  name?: string;
  tags?: Record<string, string>;
}

/** Application Auto Scaling scalable target bounds and target-tracking policies of one service. */
export interface Autoscaling {
  /** Minimum task count. */
  min: number;
  /** Maximum task count. */
  max: number;
  /** Target of `ECSServiceAverageCPUUtilization`, percent. */
  targetCpuPercent?: number;
  /** Target of `ALBRequestCountPerTarget`, requests per task per minute. */
  targetRequestsPerTarget?: number;
  /** Target of the custom metric `ContentTrends/QueueDepthPerTask`, waiting jobs per running task. */
  targetQueueDepthPerTask?: number;
  /** Seconds; default 120 (Copilot's template default). */
  scaleInCooldownSec?: number;
  /** Seconds; default 60 (Copilot's template default). */
  scaleOutCooldownSec?: number;
  /** Suspend dynamic and scheduled scaling. */
  suspended?: boolean;
}

/** ECS deployment configuration of one service. */
export interface Deployment {
  strategy?: 'ROLLING' | 'BLUE_GREEN';
  /** Minutes both revisions run after traffic shifted (BLUE_GREEN). */
  bakeTimeMinutes?: number;
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  circuitBreaker?: { enable: boolean; rollback: boolean };
}

/** One ECS service in `spec.ecs.services`. */
export interface ServiceSpec {
  /** Overrides `spec.management.mode` for this service. */
  mode?: ManagementMode;
  discovery?: ServiceDiscovery;
  /** Fixed task count; never set together with `autoscaling`. */
  desiredCount?: number;
  autoscaling?: Autoscaling;
  deployment?: Deployment;
  enableExecuteCommand?: boolean;
  /** Observed only: CPU units and memory MiB of the running task definition. */
  taskDefinition?: { cpu?: number; memory?: number };
}

/** What a model is used for. */
export type ModelUse = 'vision' | 'text' | 'reasoning';

/** One Azure AI Foundry model deployment in `spec.azure.models`. */
export interface ModelSpec {
  /** Registry name, unique in the document. */
  name: string;
  use: ModelUse[];
  /** Models endpoint URL (after interpolation). */
  endpoint: string;
  /** Model name sent in the request body, e.g. `DeepSeek-R1`. */
  model: string;
  /** Inference API version pinned for this model; unset: the process's `AI_API_VERSION`. */
  apiVersion?: '2025-04-01';
  reasoning?: boolean;
  maxOutputTokens?: number;
  quota: { requestsPerMinute: number; tokensPerMinute: number };
  /** USD per one million tokens. */
  pricePer1MTokens: { input: number; output: number };
}

/** `spec.storage`. */
export interface StorageSpec {
  s3TempBucket?: {
    name: string;
    expireAfterDays: number;
    encryption: 'AES256' | 'aws:kms';
    blockPublicAccess: true;
    /** Bucket policy denies non-TLS requests; unset: not managed. */
    tlsOnly?: true;
    /** Overrides `spec.management.mode` for the bucket. */
    mode?: ManagementMode;
  };
  keyframes?: {
    container: string;
    softDeleteDays: number;
    retentionDays: number;
    publicAccess: false;
    /** Overrides `spec.management.mode` for the container and the account's soft delete. */
    mode?: ManagementMode;
  };
}

/** Names of what a backup includes. */
export type BackupItem = 'desired-state' | 'task-definitions' | 'redis' | 'keyframes';

/** A validated desired-state document. */
export interface DesiredState {
  apiVersion: 'content-trends/v1';
  kind: 'DesiredState';
  metadata: { app: string; environment: string };
  spec: {
    management: Management;
    ecs: { cluster: string; services: Record<string, ServiceSpec> };
    azure?: { models: ModelSpec[] };
    storage?: StorageSpec;
    backups?: { schedule: string; retainDays: number; include: BackupItem[] };
    recoveryTests?: { schedule: string };
  };
}
