/**
 * ECS operations (target prefix `AmazonEC2ContainerServiceV20141113`), with the validation, defaults, limits and
 * error names of the Amazon ECS API Reference: DescribeServices takes 1–10 services ("service names can have at
 * most 10 items."), ListServices pages 1–100 (default 10), ListClusters 1–100 (default 100), missing resources in
 * Describe* calls come back as `failures` with reason `MISSING`.
 */
import { paginate } from './pagination.ts';
import { AwsServiceError, type FieldReader, type JsonObject } from './wire.ts';
import type { AwsState, EcsTag, ServiceRecord, TaskDefinitionRecord } from './store.ts';
import { missing, renderCluster, renderService, renderTags, renderTaskDefinition } from './ecs-shapes.ts';
import {
  INVALID, NAME_PATTERN, clusterNameOf, defaultDeploymentConfiguration, mergeTags, readDeploymentConfiguration,
  readTags, requireCluster, resolveTaskDefinition, serviceNameOf,
} from './ecs-input.ts';

/** One operation: validated input in, response object out; throws AwsServiceError. */
export type Operation = (state: AwsState, input: FieldReader) => JsonObject;

const LAUNCH_TYPES = ['EC2', 'FARGATE', 'EXTERNAL', 'MANAGED_INSTANCES'] as const;
const PROPAGATE = ['TASK_DEFINITION', 'SERVICE', 'NONE'] as const;

function include(r: FieldReader): string[] {
  return r.strList('include') ?? [];
}

const CreateCluster: Operation = (state, r) => {
  const name = r.str('clusterName', { pattern: NAME_PATTERN }) ?? 'default';
  const existing = state.clusters.get(name);
  if (existing) return { cluster: renderCluster(state, existing, ['TAGS', 'SETTINGS']) };
  const settings = (r.objList('settings') ?? []).map((s) => ({ name: s.str('name', { required: true }), value: s.str('value', { required: true }) }));
  const c = { arn: state.clusterArn(name), name, status: 'ACTIVE' as const, createdAtMs: state.now(), tags: readTags(r) ?? [], settings: settings.length ? settings : [{ name: 'containerInsights', value: 'disabled' }] };
  state.clusters.set(name, c);
  return { cluster: renderCluster(state, c, ['TAGS', 'SETTINGS']) };
};

const DescribeClusters: Operation = (state, r) => {
  const refs = r.strList('clusters', { max: 100 }) ?? ['default'];
  const inc = include(r);
  const clusters: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const name = clusterNameOf(state, ref);
    const c = state.clusters.get(name);
    if (c) clusters.push(renderCluster(state, c, inc));
    else failures.push(missing(ref.startsWith('arn:') ? ref : state.clusterArn(ref)));
  }
  return { clusters, failures };
};

const ListClusters: Operation = (state, r) => {
  const max = r.int('maxResults', { min: 1, max: 100 }) ?? 100;
  const page = paginate([...state.clusters.values()].map((c) => c.arn), max, r.str('nextToken'), 'ListClusters', INVALID);
  return { clusterArns: page.items, nextToken: page.nextToken };
};

const RegisterTaskDefinition: Operation = (state, r) => {
  const family = r.str('family', { required: true, pattern: /^[a-zA-Z0-9_-]{1,255}$/ });
  const containers = r.objList('containerDefinitions', { required: true, minItems: 1 }) ?? [];
  for (const c of containers) {
    c.str('name', { required: true, pattern: /^[a-zA-Z0-9_-]{1,255}$/ });
    c.str('image', { required: true });
  }
  const requires = r.strList('requiresCompatibilities') ?? [];
  if (requires.includes('FARGATE')) {
    if (r.str('networkMode') !== 'awsvpc') throw new AwsServiceError('ClientException', "Fargate only supports network mode 'awsvpc'.");
    if (!r.has('cpu')) throw new AwsServiceError('ClientException', "Fargate requires that 'cpu' be defined at the task level.");
    if (!r.has('memory')) throw new AwsServiceError('ClientException', "Fargate requires that 'memory' be defined at the task level.");
  }
  const tags = readTags(r) ?? [];
  const spec: JsonObject = {};
  for (const [k, v] of Object.entries(r.raw)) if (k !== 'tags' && v !== undefined && v !== null) spec[k] = r.json(k);
  const revisions = state.taskDefinitions.get(family) ?? [];
  const revision = revisions.length + 1;
  const td: TaskDefinitionRecord = { arn: state.taskDefinitionArn(family, revision), family, revision, status: 'ACTIVE', registeredAtMs: state.now(), spec, tags };
  state.taskDefinitions.set(family, [...revisions, td]);
  return { taskDefinition: renderTaskDefinition(td), tags: renderTags(tags) };
};

const DescribeTaskDefinition: Operation = (state, r) => {
  const ref = r.str('taskDefinition', { required: true });
  const td = resolveTaskDefinition(state, ref);
  if (!td) throw new AwsServiceError('ClientException', 'Unable to describe task definition.');
  return { taskDefinition: renderTaskDefinition(td), tags: include(r).includes('TAGS') ? renderTags(td.tags) : undefined };
};

const CreateService: Operation = (state, r) => {
  const cluster = requireCluster(state, r.str('cluster'));
  const name = r.str('serviceName', { required: true, pattern: NAME_PATTERN });
  if (state.services.get(cluster.name)?.has(name)) throw new AwsServiceError(INVALID, 'Creation of service was not idempotent.');
  const controller = r.obj2('deploymentController')?.str('type', { oneOf: ['ECS', 'CODE_DEPLOY', 'EXTERNAL'] }) ?? 'ECS';
  const tdRef = r.str('taskDefinition', { required: controller !== 'EXTERNAL' });
  const td = tdRef === undefined ? undefined : resolveTaskDefinition(state, tdRef);
  if (tdRef !== undefined && !td) throw new AwsServiceError(INVALID, 'TaskDefinition not found.');
  const launchType = r.str('launchType', { oneOf: LAUNCH_TYPES }) ?? 'EC2';
  const s: ServiceRecord = {
    arn: state.serviceArn(cluster.name, name),
    name,
    clusterName: cluster.name,
    clusterArn: cluster.arn,
    status: 'ACTIVE',
    taskDefinition: td?.arn ?? '',
    desiredCount: r.int('desiredCount', { min: 0 }) ?? 0,
    launchType,
    platformVersion: r.str('platformVersion') ?? (launchType === 'FARGATE' ? 'LATEST' : undefined),
    deploymentConfiguration: readDeploymentConfiguration(r, defaultDeploymentConfiguration()),
    deployments: [],
    createdAtMs: state.now(),
    createdBy: `arn:aws:iam::${state.accountId}:role/emulator`,
    tags: readTags(r) ?? [],
    enableExecuteCommand: r.bool('enableExecuteCommand') ?? false,
    enableECSManagedTags: r.bool('enableECSManagedTags') ?? false,
    propagateTags: r.str('propagateTags', { oneOf: PROPAGATE }) ?? 'NONE',
    schedulingStrategy: r.str('schedulingStrategy', { oneOf: ['REPLICA', 'DAEMON'] }) ?? 'REPLICA',
    deploymentControllerType: controller,
    networkConfiguration: r.json('networkConfiguration'),
    loadBalancers: (r.json('loadBalancers') as unknown[] | undefined)?.map((x) => x as JsonObject) ?? [],
    healthCheckGracePeriodSeconds: r.int('healthCheckGracePeriodSeconds', { min: 0 }),
  };
  const byName = state.services.get(cluster.name) ?? new Map<string, ServiceRecord>();
  byName.set(name, s);
  state.services.set(cluster.name, byName);
  state.startDeployment(s, s.taskDefinition);
  return { service: renderService(state, s, ['TAGS']) };
};

const DescribeServices: Operation = (state, r) => {
  const refs = r.strList('services', { required: true }) ?? [];
  if (refs.length === 0) throw new AwsServiceError(INVALID, 'Services cannot be empty.');
  if (refs.length > 10) throw new AwsServiceError(INVALID, 'service names can have at most 10 items.');
  const cluster = requireCluster(state, r.str('cluster'));
  const inc = include(r);
  const services: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const name = serviceNameOf(state, ref, cluster.name);
    const s = name === undefined ? undefined : state.getService(cluster.name, name);
    if (s) services.push(renderService(state, s, inc));
    else failures.push(missing(ref.startsWith('arn:') ? ref : state.serviceArn(cluster.name, ref)));
  }
  return { services, failures };
};

/** The service an UpdateService-like call names, or ServiceNotFoundException. */
function requireService(state: AwsState, r: FieldReader): ServiceRecord {
  const cluster = requireCluster(state, r.str('cluster'));
  const ref = r.str('service', { required: true });
  const name = serviceNameOf(state, ref, cluster.name);
  const s = name === undefined ? undefined : state.getService(cluster.name, name);
  if (!s) throw new AwsServiceError('ServiceNotFoundException', 'Service not found.');
  return s;
}

const UpdateService: Operation = (state, r) => {
  const s = requireService(state, r);
  // Validate everything before changing anything: no half-applied update.
  const desiredCount = r.int('desiredCount', { min: 0 });
  const tdRef = r.str('taskDefinition');
  const td = tdRef === undefined ? undefined : resolveTaskDefinition(state, tdRef);
  if (tdRef !== undefined && !td) throw new AwsServiceError(INVALID, 'TaskDefinition not found.');
  const deploymentConfiguration = readDeploymentConfiguration(r, s.deploymentConfiguration);
  const enableExecuteCommand = r.bool('enableExecuteCommand');
  const force = r.bool('forceNewDeployment') ?? false;
  const propagateTags = r.str('propagateTags', { oneOf: PROPAGATE });
  const enableECSManagedTags = r.bool('enableECSManagedTags');
  const grace = r.int('healthCheckGracePeriodSeconds', { min: 0 });
  const networkConfiguration = r.json('networkConfiguration');
  const platformVersion = r.str('platformVersion');

  if (desiredCount !== undefined) s.desiredCount = desiredCount;
  s.deploymentConfiguration = deploymentConfiguration;
  if (enableExecuteCommand !== undefined) s.enableExecuteCommand = enableExecuteCommand;
  if (propagateTags !== undefined) s.propagateTags = propagateTags;
  if (enableECSManagedTags !== undefined) s.enableECSManagedTags = enableECSManagedTags;
  if (grace !== undefined) s.healthCheckGracePeriodSeconds = grace;
  const newTaskDefinition = td !== undefined && td.arn !== s.taskDefinition;
  const newNetwork = networkConfiguration !== undefined && JSON.stringify(networkConfiguration) !== JSON.stringify(s.networkConfiguration);
  const newPlatform = platformVersion !== undefined && platformVersion !== s.platformVersion;
  if (td) s.taskDefinition = td.arn;
  if (networkConfiguration !== undefined) s.networkConfiguration = networkConfiguration;
  if (platformVersion !== undefined) s.platformVersion = platformVersion;
  if (force || newTaskDefinition || newNetwork || newPlatform) state.startDeployment(s, s.taskDefinition);
  else state.settle(s);
  return { service: renderService(state, s, []) };
};

const ListServices: Operation = (state, r) => {
  const cluster = requireCluster(state, r.str('cluster'));
  const max = r.int('maxResults', { min: 1, max: 100 }) ?? 10;
  const launchType = r.str('launchType', { oneOf: LAUNCH_TYPES });
  const scheduling = r.str('schedulingStrategy', { oneOf: ['REPLICA', 'DAEMON'] });
  const arns = state
    .servicesOf(cluster.name)
    .filter((s) => (launchType === undefined || s.launchType === launchType) && (scheduling === undefined || s.schedulingStrategy === scheduling))
    .map((s) => s.arn);
  const page = paginate(arns, max, r.str('nextToken'), `ListServices|${cluster.name}|${launchType ?? ''}|${scheduling ?? ''}`, INVALID);
  return { serviceArns: page.items, nextToken: page.nextToken };
};

/** The taggable resource an ARN names (cluster, service or task definition). */
function taggable(state: AwsState, r: FieldReader): { tags: EcsTag[]; set(t: EcsTag[]): void } {
  const arn = r.str('resourceArn', { required: true });
  const m = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  if (!m) throw new AwsServiceError(INVALID, `resourceArn: invalid identifier ${arn}`);
  const [, region, account, kind, rest] = m as unknown as [string, string, string, string, string];
  const notFound = new AwsServiceError('ResourceNotFoundException', 'The specified resource could not be found.');
  if (region !== state.region || account !== state.accountId) throw notFound;
  if (kind === 'cluster') {
    const c = state.clusters.get(rest);
    if (!c) throw new AwsServiceError('ClusterNotFoundException', 'Cluster not found.');
    return { tags: c.tags, set: (t) => (c.tags = t) };
  }
  if (kind === 'service') {
    const [clusterName, name] = rest.split('/');
    if (!clusterName || !name) throw new AwsServiceError(INVALID, 'Long arn format must be used for tagging operations.');
    if (!state.clusters.has(clusterName)) throw new AwsServiceError('ClusterNotFoundException', 'Cluster not found.');
    const s = state.getService(clusterName, name);
    if (!s) throw notFound;
    return { tags: s.tags, set: (t) => (s.tags = t) };
  }
  if (kind === 'task-definition') {
    const td = resolveTaskDefinition(state, arn);
    if (!td) throw notFound;
    return { tags: td.tags, set: (t) => (td.tags = t) };
  }
  throw new AwsServiceError(INVALID, `resourceArn: the emulator does not tag ${kind} resources.`);
}

const ListTagsForResource: Operation = (state, r) => ({ tags: renderTags(taggable(state, r).tags) });

const TagResource: Operation = (state, r) => {
  const target = taggable(state, r);
  const added = readTags(r) ?? [];
  if (!r.has('tags')) r.fail('tags', 'is required.');
  const merged = mergeTags(target.tags, added);
  if (merged.length > 50) throw new AwsServiceError(INVALID, 'tags: a resource can have at most 50 tags.');
  target.set(merged);
  return {};
};

const UntagResource: Operation = (state, r) => {
  const target = taggable(state, r);
  const keys = r.strList('tagKeys', { required: true }) ?? [];
  target.set(target.tags.filter((t) => !keys.includes(t.key)));
  return {};
};

/** Every ECS operation the emulator serves, by name. */
export const ECS_OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateCluster, DescribeClusters, ListClusters, RegisterTaskDefinition, DescribeTaskDefinition, CreateService,
  DescribeServices, UpdateService, ListServices, ListTagsForResource, TagResource, UntagResource,
};
