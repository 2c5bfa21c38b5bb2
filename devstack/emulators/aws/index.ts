/**
 * ECS + Application Auto Scaling emulator (AWS JSON 1.1 wire protocol, in-memory state, fault injection).
 * Only devstack/ and test/ use it; production code just sees an endpoint URL.
 */
export { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions, type AwsCallRecord } from './server.ts';
export type { AwsFault, AwsFaults } from './faults.ts';
export type {
  AwsState, ClusterRecord, DeploymentConfigurationState, DeploymentRecord, EcsTag, ScalableTargetRecord, ScalingPolicyRecord,
  ServiceRecord, SuspendedState, TaskDefinitionRecord,
} from './store.ts';
