/**
 * The reconciler's AWS clients, built from runtime configuration (ECS_ENDPOINT,
 * APPLICATION_AUTOSCALING_ENDPOINT, CLOUDWATCH_ENDPOINT, AWS_REGION; credentials from the SDK's default chain,
 * i.e. the ECS task role in production). SDK retries are off (maxAttempts 1): `ApiCalls` retries and counts every
 * attempt itself.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { createAutoScalingClient, createCloudWatchClient, createEcsClient, type AwsClientConfig } from '../../services/platform/aws.ts';

/** The clients and a way to release their sockets. */
export interface ReconcilerClients {
  ecs: ECSClient;
  autoscaling: ApplicationAutoScalingClient;
  /** Publishes the worker's queue-depth metric (the service only; the CLI never publishes). */
  cloudwatch: CloudWatchClient;
  destroy(): void;
}

/** Creates the clients. */
export function createReconcilerClients(config: AwsClientConfig): ReconcilerClients {
  const ecs = createEcsClient(config, 1);
  const autoscaling = createAutoScalingClient(config, 1);
  const cloudwatch = createCloudWatchClient(config, 1);
  return {
    ecs,
    autoscaling,
    cloudwatch,
    destroy: () => {
      ecs.destroy();
      autoscaling.destroy();
      cloudwatch.destroy();
    },
  };
}
