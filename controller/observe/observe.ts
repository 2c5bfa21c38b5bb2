/**
 * One observation of everything a desired state manages: ECS services, then the Application Auto Scaling
 * targets and policies of the services found, then storage (when the pass has storage clients) and the declared Azure AI model endpoints (when it has an AI credential). Reads only; level-triggered (nothing is remembered between
 * passes but the task-definition cache, whose entries never change).
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { ecsResourceId, type ObservedServiceState, type ObservedState } from '../types.ts';
import { observeEcsServices, type EcsObserverDeps } from './ecs-services.ts';
import { observeScaling, type ScalingObserverDeps } from './scalable-targets.ts';
import { observeStorage, type StorageClients } from './storage.ts';
import { observeAiModels, type AiModelObserverDeps } from './ai-models.ts';

/** Collaborators of {@link observe}; storage is observed only with its clients. */
export type ObserveDeps = EcsObserverDeps & ScalingObserverDeps & { now: () => Date; storage?: StorageClients; aiModels?: AiModelObserverDeps };

/**
 * Reads the live state of every service of `desired`.
 * @throws AwsCallError when a read fails after its retries (the pass reports it and acts on nothing).
 */
export async function observe(desired: DesiredState, deps: ObserveDeps): Promise<ObservedState> {
  const cluster = desired.spec.ecs.cluster;
  const ecs = await observeEcsServices(desired, deps);
  const resourceIds = Object.values(ecs.services).flatMap((s) => (s.service ? [ecsResourceId(cluster, s.service.name)] : []));
  const scaling = await observeScaling(resourceIds, deps);
  const services: Record<string, ObservedServiceState> = {};
  for (const [key, s] of Object.entries(ecs.services)) {
    const id = s.service ? ecsResourceId(cluster, s.service.name) : undefined;
    const target = id ? scaling.targets.get(id) : undefined;
    services[key] = {
      ...(s.service ? { service: s.service } : {}),
      ...(target ? { scalableTarget: target } : {}),
      policies: id ? (scaling.policies.get(id) ?? []) : [],
      ...(s.error !== undefined ? { error: s.error } : id && scaling.policyErrors.has(id) ? { error: scaling.policyErrors.get(id)! } : {}),
    };
  }
  const declared = desired.spec.azure?.models ?? [];
  const [storage, aiModels] = await Promise.all([
    deps.storage ? observeStorage(desired, deps.storage, deps.calls) : undefined,
    deps.aiModels && declared.length > 0 ? observeAiModels(declared, deps.aiModels) : undefined,
  ]);
  return {
    cluster: { name: cluster, ...(ecs.clusterArn ? { arn: ecs.clusterArn } : {}) },
    services,
    ...(storage ? { storage } : {}),
    ...(aiModels ? { aiModels } : {}),
    observedAt: deps.now().toISOString(),
  };
}
