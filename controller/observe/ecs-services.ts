/**
 * Observer of the ECS services a desired state names. Reads only:
 * 1. ListServices on the cluster, paginated (maxResults 100, the API's maximum; reference/operator-anchors.md §8);
 * 2. DescribeServices in batches of at most 10 (the API's limit per call) with `include: ['TAGS']`: only the
 *    services whose name matches, unless some desired service is found by tags, which needs them all;
 * 3. DescribeTaskDefinition for services whose document sets `taskDefinition`, cached by ARN (a revision never
 *    changes, so the cache lives as long as the process).
 * Discovery: `discovery.name`, `discovery.tags` (all must match), or by default the service named like the key or
 * tagged copilot-application/-environment/-service (Copilot names services `<app>-<env>-<svc>-Service-<id>`).
 * Not-found is a value (`service` undefined); two matches are an error for that service only.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServicesCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import type { DesiredState, ServiceDiscovery } from '../../services/platform/desired-state.ts';
import type { ObservedService } from '../types.ts';
import type { ApiCalls } from '../aws/api-calls.ts';
import { copilotTags, cpuUnits, memoryMiB } from '../diff/normalize.ts';

/** DescribeServices accepts at most 10 services per call (ECS API reference). */
export const DESCRIBE_SERVICES_BATCH = 10;
/** ListServices returns at most 100 ARNs per page (ECS API reference). */
export const LIST_SERVICES_PAGE = 100;

/** CPU units and memory MiB of task definitions, by ARN. */
export type TaskDefinitionCache = Map<string, { cpu?: number; memory?: number }>;

/** What the observer needs. */
export interface EcsObserverDeps {
  ecs: ECSClient;
  calls: ApiCalls;
  taskDefinitions: TaskDefinitionCache;
}

/** Result per desired service key, plus the cluster ARN when any service was described. */
export interface EcsObservation {
  clusterArn?: string;
  services: Record<string, { service?: ObservedService; error?: string }>;
}

/** Service name from its ARN (`arn:aws:ecs:<region>:<account>:service/<cluster>/<name>`, or the old `service/<name>`). */
export function serviceNameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

function tagsOf(s: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of s.tags ?? []) if (t.key !== undefined) out[t.key] = t.value ?? '';
  return out;
}

function toObserved(s: Service): ObservedService {
  const dc = s.deploymentConfiguration;
  const cb = dc?.deploymentCircuitBreaker;
  return {
    arn: s.serviceArn ?? '',
    name: s.serviceName ?? '',
    clusterArn: s.clusterArn ?? '',
    status: s.status ?? 'UNKNOWN',
    desiredCount: s.desiredCount ?? 0,
    runningCount: s.runningCount ?? 0,
    deployment: {
      ...(dc?.strategy !== undefined ? { strategy: dc.strategy } : {}),
      ...(dc?.bakeTimeInMinutes !== undefined ? { bakeTimeMinutes: dc.bakeTimeInMinutes } : {}),
      ...(dc?.minimumHealthyPercent !== undefined ? { minimumHealthyPercent: dc.minimumHealthyPercent } : {}),
      ...(dc?.maximumPercent !== undefined ? { maximumPercent: dc.maximumPercent } : {}),
      ...(cb ? { circuitBreaker: { enable: cb.enable ?? false, rollback: cb.rollback ?? false } } : {}),
    },
    ...(s.enableExecuteCommand !== undefined ? { enableExecuteCommand: s.enableExecuteCommand } : {}),
    taskDefinitionArn: s.taskDefinition ?? '',
    tags: tagsOf(s),
    targetGroupArns: (s.loadBalancers ?? []).flatMap((lb) => (lb.targetGroupArn ? [lb.targetGroupArn] : [])),
  };
}

function rule(desired: DesiredState, key: string): { name?: string; tags?: Record<string, string>; fallbackTags?: Record<string, string> } {
  const d: ServiceDiscovery | undefined = desired.spec.ecs.services[key]?.discovery;
  if (d?.name !== undefined) return { name: d.name };
  if (d?.tags !== undefined) return { tags: d.tags };
  return { name: key, fallbackTags: copilotTags(desired, key) };
}

function tagsMatch(want: Record<string, string>, have: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/** Lists every service ARN of the cluster. */
async function listServiceArns(cluster: string, deps: EcsObserverDeps): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.calls.run('ecs', 'ListServices', cluster, () =>
      deps.ecs.send(new ListServicesCommand({ cluster, maxResults: LIST_SERVICES_PAGE, ...(nextToken ? { nextToken } : {}) })),
    );
    arns.push(...(page.serviceArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** Describes services in batches of {@link DESCRIBE_SERVICES_BATCH}; services ECS reports as failures are left out. */
async function describe(cluster: string, arns: string[], deps: EcsObserverDeps): Promise<Service[]> {
  const out: Service[] = [];
  for (let i = 0; i < arns.length; i += DESCRIBE_SERVICES_BATCH) {
    const batch = arns.slice(i, i + DESCRIBE_SERVICES_BATCH);
    const r = await deps.calls.run('ecs', 'DescribeServices', cluster, () =>
      deps.ecs.send(new DescribeServicesCommand({ cluster, services: batch, include: ['TAGS'] })),
    );
    out.push(...(r.services ?? []).filter((s) => s.status !== 'INACTIVE'));
  }
  return out;
}

async function taskDefinitionSize(arn: string, deps: EcsObserverDeps): Promise<{ cpu?: number; memory?: number }> {
  const cached = deps.taskDefinitions.get(arn);
  if (cached) return cached;
  const r = await deps.calls.run('ecs', 'DescribeTaskDefinition', arn, () => deps.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })));
  const cpu = cpuUnits(r.taskDefinition?.cpu);
  const memory = memoryMiB(r.taskDefinition?.memory);
  const size = { ...(cpu !== undefined ? { cpu } : {}), ...(memory !== undefined ? { memory } : {}) };
  deps.taskDefinitions.set(arn, size);
  return size;
}

/**
 * Observes every service of `desired.spec.ecs.services`.
 * @throws AwsCallError when listing or describing fails after retries (the whole observation is unusable).
 */
export async function observeEcsServices(desired: DesiredState, deps: EcsObserverDeps): Promise<EcsObservation> {
  const cluster = desired.spec.ecs.cluster;
  const keys = Object.keys(desired.spec.ecs.services).sort();
  const rules = new Map(keys.map((k) => [k, rule(desired, k)]));
  const arns = await listServiceArns(cluster, deps);
  const arnNames = new Set(arns.map(serviceNameFromArn));
  // Describing only the services found by name saves calls; tags (explicit, or the Copilot fallback for a
  // name that is absent) can only be matched by describing every service of the cluster.
  const needTags = [...rules.values()].some((r) => r.tags !== undefined || (r.fallbackTags !== undefined && !arnNames.has(r.name!)));
  const toDescribe = needTags ? arns : arns.filter((a) => [...rules.values()].some((r) => r.name === serviceNameFromArn(a)));
  const described = await describe(cluster, toDescribe, deps);

  const result: EcsObservation = { services: {} };
  const clusterArn = described.find((s) => s.clusterArn)?.clusterArn;
  if (clusterArn) result.clusterArn = clusterArn;
  for (const key of keys) {
    const r = rules.get(key)!;
    let matches = r.name !== undefined ? described.filter((s) => s.serviceName === r.name) : [];
    if (matches.length === 0 && (r.tags ?? r.fallbackTags)) matches = described.filter((s) => tagsMatch((r.tags ?? r.fallbackTags)!, tagsOf(s)));
    if (matches.length > 1) {
      result.services[key] = { error: `discovery is ambiguous: ${matches.length} services match (${matches.map((s) => s.serviceName).sort().join(', ')})` };
      continue;
    }
    const found = matches[0];
    if (!found) {
      result.services[key] = {};
      continue;
    }
    const service = toObserved(found);
    if (desired.spec.ecs.services[key]?.taskDefinition && service.taskDefinitionArn) {
      service.taskDefinition = await taskDefinitionSize(service.taskDefinitionArn, deps);
    }
    result.services[key] = { service };
  }
  return result;
}
