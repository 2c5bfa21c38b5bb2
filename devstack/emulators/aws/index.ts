/**
 * ECS + Application Auto Scaling (AWS JSON 1.1) and CloudWatch PutMetricData (AWS JSON 1.0) emulator: in-memory
 * state, fault injection. Only devstack/ and test/ use it; production code just sees an endpoint URL.
 */
export { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions, type AwsCallRecord, type AwsServiceName } from './server.ts';
export type { AwsFault, AwsFaults } from './faults.ts';
export type {
  AwsState, ClusterRecord, DeploymentConfigurationState, DeploymentRecord, EcsTag, ScalableTargetRecord, ScalingPolicyRecord,
  ServiceRecord, SuspendedState, TaskDefinitionRecord,
} from './store.ts';
export type { MetricDatapoint, MetricDimension, MetricFilter, MetricStore, StatisticSet } from './cloudwatch-store.ts';
