/**
 * Renders ECS records as the API returns them (Amazon ECS API Reference, data types `Cluster`, `Service`,
 * `Deployment`, `TaskDefinition`, `Failure`). Timestamps are epoch seconds (JSON 1.1). Tags appear only when
 * the caller asked with `include: ['TAGS']`, as on the real API.
 */
import type { AwsState, ClusterRecord, EcsTag, ServiceRecord, TaskDefinitionRecord } from './store.ts';
import type { Json, JsonObject } from './wire.ts';

/** Epoch ms → epoch seconds (JSON 1.1 timestamp). */
export function seconds(ms: number): number {
  return ms / 1000;
}

/** ECS tags as the API returns them (copies). */
export function renderTags(tags: EcsTag[]): Json[] {
  return tags.map((t) => ({ key: t.key, value: t.value }));
}

/** `Cluster`; counts are derived from the cluster's services. */
export function renderCluster(state: AwsState, c: ClusterRecord, include: readonly string[]): JsonObject {
  const services = state.servicesOf(c.name);
  return {
    clusterArn: c.arn,
    clusterName: c.name,
    status: c.status,
    registeredContainerInstancesCount: 0,
    runningTasksCount: services.reduce((n, s) => n + s.deployments.reduce((m, d) => m + d.runningCount, 0), 0),
    pendingTasksCount: services.reduce((n, s) => n + s.deployments.reduce((m, d) => m + d.pendingCount, 0), 0),
    activeServicesCount: services.length,
    statistics: [],
    tags: include.includes('TAGS') ? renderTags(c.tags) : [],
    settings: include.includes('SETTINGS') ? c.settings.map((s) => ({ ...s })) : [],
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
  };
}

/** `Service` with its deployments, after settling them against the clock. */
export function renderService(state: AwsState, s: ServiceRecord, include: readonly string[]): JsonObject {
  state.settle(s);
  const dc = s.deploymentConfiguration;
  return {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: s.clusterArn,
    loadBalancers: structuredClone(s.loadBalancers),
    serviceRegistries: [],
    status: s.status,
    desiredCount: s.desiredCount,
    runningCount: s.deployments.reduce((n, d) => n + d.runningCount, 0),
    pendingCount: s.deployments.reduce((n, d) => n + d.pendingCount, 0),
    launchType: s.launchType,
    platformVersion: s.platformVersion,
    platformFamily: s.launchType === 'FARGATE' ? 'Linux' : undefined,
    taskDefinition: s.taskDefinition,
    deploymentConfiguration: {
      deploymentCircuitBreaker: { ...dc.deploymentCircuitBreaker },
      maximumPercent: dc.maximumPercent,
      minimumHealthyPercent: dc.minimumHealthyPercent,
      strategy: dc.strategy,
      bakeTimeInMinutes: dc.bakeTimeInMinutes,
      alarms: dc.alarms ? { alarmNames: [...dc.alarms.alarmNames], enable: dc.alarms.enable, rollback: dc.alarms.rollback } : undefined,
    },
    deployments: s.deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: d.desiredCount,
      pendingCount: d.pendingCount,
      runningCount: d.runningCount,
      failedTasks: 0,
      createdAt: seconds(d.createdAtMs),
      updatedAt: seconds(d.updatedAtMs),
      launchType: s.launchType,
      platformVersion: s.platformVersion,
      platformFamily: s.launchType === 'FARGATE' ? 'Linux' : undefined,
      networkConfiguration: s.networkConfiguration === undefined ? undefined : structuredClone(s.networkConfiguration),
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    })),
    events: [],
    createdAt: seconds(s.createdAtMs),
    placementConstraints: [],
    placementStrategy: [],
    networkConfiguration: s.networkConfiguration === undefined ? undefined : structuredClone(s.networkConfiguration),
    healthCheckGracePeriodSeconds: s.healthCheckGracePeriodSeconds,
    schedulingStrategy: s.schedulingStrategy,
    deploymentController: { type: s.deploymentControllerType },
    tags: include.includes('TAGS') ? renderTags(s.tags) : undefined,
    createdBy: s.createdBy,
    enableECSManagedTags: s.enableECSManagedTags,
    propagateTags: s.propagateTags,
    enableExecuteCommand: s.enableExecuteCommand,
    availabilityZoneRebalancing: 'ENABLED',
  };
}

/** `TaskDefinition`: the registered fields plus the server-filled ones. */
export function renderTaskDefinition(td: TaskDefinitionRecord): JsonObject {
  const requires = td.spec.requiresCompatibilities;
  return {
    ...structuredClone(td.spec),
    taskDefinitionArn: td.arn,
    family: td.family,
    revision: td.revision,
    status: td.status,
    volumes: td.spec.volumes ?? [],
    placementConstraints: td.spec.placementConstraints ?? [],
    compatibilities: Array.isArray(requires) && requires.includes('FARGATE') ? ['EC2', 'FARGATE'] : ['EC2'],
    requiresAttributes: [],
    registeredAt: seconds(td.registeredAtMs),
  };
}

/** `Failure` for a resource that does not exist. */
export function missing(arn: string): JsonObject {
  return { arn, reason: 'MISSING' };
}
