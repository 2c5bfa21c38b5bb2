/**
 * Pure fixtures for diff tests: an ObservedState that matches a desired state exactly, spelled out the way the
 * AWS APIs report it (explicit field values, Copilot-style names for the CPU and ALB policies, dimensions in
 * another order), written without the controller's normalisation helpers so that a test can catch them.
 */
import type { DesiredState } from '../../../services/platform/desired-state.ts';
import type { ObservedPolicy, ObservedServiceState, ObservedState } from '../../../controller/types.ts';

/** ALB ResourceLabel used in fixtures. */
export const FIXTURE_RESOURCE_LABEL = 'app/ct-alb/0123456789abcdef/targetgroup/ct-api/fedcba9876543210';

/** The live state that `copilot svc deploy` plus a correct reconciler would leave for `desired`. */
export function observedMatching(desired: DesiredState): ObservedState {
  const cluster = desired.spec.ecs.cluster;
  const { app, environment } = desired.metadata;
  const services: Record<string, ObservedServiceState> = {};
  for (const [key, spec] of Object.entries(desired.spec.ecs.services)) {
    const name = `${app}-${environment}-${key}-Service-ABC123`;
    const d = spec.deployment;
    const state: ObservedServiceState = {
      service: {
        arn: `arn:aws:ecs:us-east-1:000000000000:service/${cluster}/${name}`,
        name,
        clusterArn: `arn:aws:ecs:us-east-1:000000000000:cluster/${cluster}`,
        status: 'ACTIVE',
        desiredCount: spec.desiredCount ?? spec.autoscaling?.min ?? 1,
        runningCount: spec.desiredCount ?? spec.autoscaling?.min ?? 1,
        deployment: {
          strategy: d?.strategy ?? 'ROLLING',
          ...(d?.bakeTimeMinutes !== undefined ? { bakeTimeMinutes: d.bakeTimeMinutes } : {}),
          minimumHealthyPercent: d?.minimumHealthyPercent ?? 100,
          maximumPercent: d?.maximumPercent ?? 200,
          circuitBreaker: d?.circuitBreaker ?? { enable: false, rollback: false },
        },
        enableExecuteCommand: spec.enableExecuteCommand ?? false,
        taskDefinitionArn: `arn:aws:ecs:us-east-1:000000000000:task-definition/${app}-${environment}-${key}:7`,
        ...(spec.taskDefinition ? { taskDefinition: { ...spec.taskDefinition } } : {}),
        tags: { 'copilot-application': app, 'copilot-environment': environment, 'copilot-service': key },
        targetGroupArns: [],
      },
      policies: [],
    };
    const a = spec.autoscaling;
    if (a) {
      state.scalableTarget = { resourceId: `service/${cluster}/${name}`, minCapacity: a.min, maxCapacity: a.max, suspended: { dynamicScalingIn: a.suspended ?? false, dynamicScalingOut: a.suspended ?? false, scheduled: a.suspended ?? false } };
      const base = { policyType: 'TargetTrackingScaling', scaleInCooldownSec: a.scaleInCooldownSec ?? 120, scaleOutCooldownSec: a.scaleOutCooldownSec ?? 60, disableScaleIn: false };
      const policies: ObservedPolicy[] = [];
      if (a.targetCpuPercent !== undefined) {
        policies.push({ ...base, name: `${name}-AutoScalingPolicyECSServiceAverageCPUUtilization-X1`, arn: `arn:policy/${key}/cpu`, metric: { kind: 'predefined', type: 'ECSServiceAverageCPUUtilization' }, targetValue: a.targetCpuPercent });
      }
      if (a.targetRequestsPerTarget !== undefined) {
        policies.push({
          ...base, name: `${name}-AutoScalingPolicyALBSumRequestCountPerTarget-X2`, arn: `arn:policy/${key}/requests`,
          metric: { kind: 'predefined', type: 'ALBRequestCountPerTarget', resourceLabel: FIXTURE_RESOURCE_LABEL }, targetValue: a.targetRequestsPerTarget,
        });
      }
      if (a.targetQueueDepthPerTask !== undefined) {
        policies.push({
          ...base, name: 'ct-queue-depth-target', arn: `arn:policy/${key}/queue`,
          metric: {
            kind: 'customized', namespace: 'ContentTrends', metricName: 'QueueDepthPerTask', statistic: 'Average',
            dimensions: [{ name: 'Environment', value: environment }, { name: 'Application', value: app }],
          },
          targetValue: a.targetQueueDepthPerTask,
        });
      }
      state.policies = policies;
    }
    services[key] = state;
  }
  return { cluster: { name: cluster, arn: `arn:aws:ecs:us-east-1:000000000000:cluster/${cluster}` }, services, observedAt: '2026-01-01T00:00:00.000Z' };
}
