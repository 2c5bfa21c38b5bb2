/**
 * Test seeding: puts a cluster, its services and their Application Auto Scaling into an AWS endpoint (our
 * emulator) through the real SDK clients, the way `copilot svc deploy` would leave them for the given desired
 * state. Written independently of the controller's code (explicit request shapes, Copilot-style names for the
 * CPU and ALB policies) so a bug in the controller's normalisation cannot make seed and check agree by accident.
 */
import { CreateClusterCommand, CreateServiceCommand, RegisterTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  ApplicationAutoScalingClient,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import type { DesiredState } from '../../../services/platform/desired-state.ts';

/** Dummy credentials: the emulator accepts any SigV4 signature. */
export const DUMMY_CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };

/** SDK clients pointed at an endpoint, with SDK retries off (the controller retries itself). */
export function clientsFor(endpoint: string, region = 'us-east-1'): { ecs: ECSClient; autoscaling: ApplicationAutoScalingClient } {
  return {
    ecs: new ECSClient({ endpoint, region, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 }),
    autoscaling: new ApplicationAutoScalingClient({ endpoint, region, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 }),
  };
}

/** Options of {@link seedFromDesired}. */
export interface SeedOptions {
  /** Name services like Copilot's CloudFormation does (`<app>-<env>-<svc>-Service-<id>`) so only tags find them. */
  copilotNames?: boolean;
  /** Live desiredCount per service (default: the fixed count, else autoscaling.min). */
  desiredCounts?: Record<string, number>;
  /** Services to leave out. */
  skip?: string[];
}

/** ALB ResourceLabel used for the api's request-count policy (format from the Application Auto Scaling API reference). */
export const API_RESOURCE_LABEL = 'app/ct-alb/0123456789abcdef/targetgroup/ct-api/fedcba9876543210';

/**
 * Seeds `desired`'s cluster with matching live state.
 * @returns the live ECS service name of each desired service.
 */
export async function seedFromDesired(endpoint: string, desired: DesiredState, o: SeedOptions = {}): Promise<Record<string, string>> {
  const { ecs, autoscaling } = clientsFor(endpoint);
  const { app, environment: env } = desired.metadata;
  const cluster = desired.spec.ecs.cluster;
  const names: Record<string, string> = {};
  try {
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    for (const [key, spec] of Object.entries(desired.spec.ecs.services)) {
      if (o.skip?.includes(key)) continue;
      const name = o.copilotNames ? `${app}-${env}-${key}-Service-${key.toUpperCase()}1x2Y3z` : key;
      names[key] = name;
      const td = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `${app}-${env}-${key}`,
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: String(spec.taskDefinition?.cpu ?? 256),
          memory: String(spec.taskDefinition?.memory ?? 512),
          containerDefinitions: [{ name: key, image: 'public.ecr.aws/docker/library/node:22-alpine', essential: true }],
        }),
      );
      const d = spec.deployment;
      await ecs.send(
        new CreateServiceCommand({
          cluster,
          serviceName: name,
          taskDefinition: td.taskDefinition?.taskDefinitionArn,
          launchType: 'FARGATE',
          desiredCount: o.desiredCounts?.[key] ?? spec.desiredCount ?? spec.autoscaling?.min ?? 1,
          deploymentConfiguration: {
            ...(d?.minimumHealthyPercent !== undefined ? { minimumHealthyPercent: d.minimumHealthyPercent } : {}),
            ...(d?.maximumPercent !== undefined ? { maximumPercent: d.maximumPercent } : {}),
            ...(d?.circuitBreaker ? { deploymentCircuitBreaker: d.circuitBreaker } : {}),
            ...(d?.strategy ? { strategy: d.strategy } : {}),
            ...(d?.bakeTimeMinutes !== undefined ? { bakeTimeInMinutes: d.bakeTimeMinutes } : {}),
          },
          enableExecuteCommand: spec.enableExecuteCommand ?? false,
          tags: [
            { key: 'copilot-application', value: app },
            { key: 'copilot-environment', value: env },
            { key: 'copilot-service', value: key },
          ],
        }),
      );
      const a = spec.autoscaling;
      if (!a) continue;
      const target = { ServiceNamespace: 'ecs' as const, ResourceId: `service/${cluster}/${name}`, ScalableDimension: 'ecs:service:DesiredCount' as const };
      await autoscaling.send(new RegisterScalableTargetCommand({ ...target, MinCapacity: a.min, MaxCapacity: a.max }));
      const cooldowns = { ScaleInCooldown: a.scaleInCooldownSec ?? 120, ScaleOutCooldown: a.scaleOutCooldownSec ?? 60 };
      if (a.targetCpuPercent !== undefined) {
        await autoscaling.send(
          new PutScalingPolicyCommand({
            ...target,
            PolicyName: `${app}-${env}-${key}-AutoScalingPolicyECSServiceAverageCPUUtilization-Q1W2E3`,
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: {
              TargetValue: a.targetCpuPercent,
              PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
              ...cooldowns,
            },
          }),
        );
      }
      if (a.targetRequestsPerTarget !== undefined) {
        await autoscaling.send(
          new PutScalingPolicyCommand({
            ...target,
            PolicyName: `${app}-${env}-${key}-AutoScalingPolicyALBSumRequestCountPerTarget-R4T5Y6`,
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: {
              TargetValue: a.targetRequestsPerTarget,
              PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: API_RESOURCE_LABEL },
              ...cooldowns,
            },
          }),
        );
      }
      if (a.targetQueueDepthPerTask !== undefined) {
        await autoscaling.send(
          new PutScalingPolicyCommand({
            ...target,
            PolicyName: 'ct-queue-depth-target',
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: {
              TargetValue: a.targetQueueDepthPerTask,
              CustomizedMetricSpecification: {
                Namespace: 'ContentTrends',
                MetricName: 'QueueDepthPerTask',
                Statistic: 'Average',
                Dimensions: [
                  { Name: 'Environment', Value: env },
                  { Name: 'Application', Value: app },
                ],
              },
              ...cooldowns,
            },
          }),
        );
      }
    }
  } finally {
    ecs.destroy();
    autoscaling.destroy();
  }
  return names;
}
