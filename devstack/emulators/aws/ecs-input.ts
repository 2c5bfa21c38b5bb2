/**
 * ECS request pieces shared by several operations: cluster, service and task-definition references (short name
 * or ARN), tags and the deployment configuration, each validated with the error ECS gives
 * (Amazon ECS API Reference: CreateService, UpdateService, TagResource, DeploymentConfiguration).
 */
import { AwsServiceError, type FieldReader } from './wire.ts';
import { DEPLOYMENT_STRATEGIES, type AwsState, type ClusterRecord, type DeploymentConfigurationState, type EcsTag, type TaskDefinitionRecord } from './store.ts';

/** Exception ECS uses for a malformed parameter. */
export const INVALID = 'InvalidParameterException';

/** Name pattern of clusters and services (error text as seen from the real API). */
export const NAME_PATTERN = /^[a-zA-Z0-9\-_]{1,255}$/;

const ARN_PREFIX = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):(.+)$/;

function resourceOf(state: AwsState, arn: string, field: string): string {
  const m = ARN_PREFIX.exec(arn);
  if (!m) throw new AwsServiceError(INVALID, `${field}: invalid identifier ${arn}`);
  if (m[1] !== state.region || m[2] !== state.accountId) return '\u0000foreign';
  return m[3]!;
}

/** Cluster name from a short name or ARN; `default` when none is given (as ECS does). */
export function clusterNameOf(state: AwsState, ref: string | undefined): string {
  if (ref === undefined || ref === '') return 'default';
  if (!ref.startsWith('arn:')) return ref;
  const res = resourceOf(state, ref, 'cluster');
  return res.startsWith('cluster/') ? res.slice('cluster/'.length) : '\u0000not-a-cluster';
}

/** The cluster, or `ClusterNotFoundException` ("Cluster not found."). */
export function requireCluster(state: AwsState, ref: string | undefined): ClusterRecord {
  const c = state.clusters.get(clusterNameOf(state, ref));
  if (!c) throw new AwsServiceError('ClusterNotFoundException', 'Cluster not found.');
  return c;
}

/**
 * Service name from a short name or ARN (long form `service/<cluster>/<name>` or short form `service/<name>`).
 * Returns undefined when the ARN names another cluster, region or account.
 */
export function serviceNameOf(state: AwsState, ref: string, cluster: string): string | undefined {
  if (!ref.startsWith('arn:')) return ref;
  const parts = resourceOf(state, ref, 'service').split('/');
  if (parts[0] !== 'service') return undefined;
  if (parts.length === 3) return parts[1] === cluster ? parts[2] : undefined;
  if (parts.length === 2) return parts[1];
  return undefined;
}

/** Task definition from `family` (latest ACTIVE revision), `family:revision` or ARN; undefined if absent. */
export function resolveTaskDefinition(state: AwsState, ref: string): TaskDefinitionRecord | undefined {
  let familyRev = ref;
  if (ref.startsWith('arn:')) {
    const res = resourceOf(state, ref, 'taskDefinition');
    if (!res.startsWith('task-definition/')) return undefined;
    familyRev = res.slice('task-definition/'.length);
  }
  const [family, rev, extra] = familyRev.split(':');
  if (!family || extra !== undefined) return undefined;
  const revisions = state.taskDefinitions.get(family) ?? [];
  if (rev === undefined) return [...revisions].reverse().find((t) => t.status === 'ACTIVE');
  return revisions.find((t) => String(t.revision) === rev);
}

/** ECS `tags` (`[{key, value}]`): at most 50, keys 1–128 characters, values up to 256, no `aws:` prefix. */
export function readTags(r: FieldReader, name = 'tags'): EcsTag[] | undefined {
  const list = r.objList(name, { max: 50 });
  if (!list) return undefined;
  return list.map((t) => {
    const key = t.str('key', { required: true, maxLength: 128 });
    if (key.toLowerCase().startsWith('aws:')) t.fail('key', 'cannot start with aws: (reserved for AWS use).');
    return { key, value: t.str('value', { maxLength: 256 }) ?? '' };
  });
}

/** Tags merged by key: a new value replaces the old one. */
export function mergeTags(existing: EcsTag[], added: EcsTag[]): EcsTag[] {
  const out = existing.map((t) => ({ ...t }));
  for (const t of added) {
    const same = out.find((o) => o.key === t.key);
    if (same) same.value = t.value;
    else out.push({ ...t });
  }
  return out;
}

/** Server defaults of a service's deployment configuration (API_DeploymentConfiguration). */
export function defaultDeploymentConfiguration(): DeploymentConfigurationState {
  return { deploymentCircuitBreaker: { enable: false, rollback: false }, maximumPercent: 200, minimumHealthyPercent: 100, strategy: 'ROLLING' };
}

/**
 * Applies the `deploymentConfiguration` member of a request over `base`: members that are sent replace the
 * current ones, members left out keep their value.
 * @throws AwsServiceError InvalidParameterException naming the member (percentages out of range,
 *   unknown strategy, a circuit breaker without `enable`/`rollback`).
 */
export function readDeploymentConfiguration(r: FieldReader, base: DeploymentConfigurationState): DeploymentConfigurationState {
  const dc = r.obj2('deploymentConfiguration');
  if (!dc) return base;
  const out: DeploymentConfigurationState = { ...base, deploymentCircuitBreaker: { ...base.deploymentCircuitBreaker } };
  const breaker = dc.obj2('deploymentCircuitBreaker');
  if (breaker) {
    out.deploymentCircuitBreaker = { enable: breaker.boolReq('enable'), rollback: breaker.boolReq('rollback') };
  }
  const max = dc.int('maximumPercent', { min: 100, max: 200 });
  const min = dc.int('minimumHealthyPercent', { min: 0, max: 100 });
  if (max !== undefined) out.maximumPercent = max;
  if (min !== undefined) out.minimumHealthyPercent = min;
  const strategy = dc.str('strategy', { oneOf: DEPLOYMENT_STRATEGIES });
  if (strategy !== undefined) out.strategy = strategy as DeploymentConfigurationState['strategy'];
  const bake = dc.int('bakeTimeInMinutes', { min: 0, max: 1440 });
  if (bake !== undefined) out.bakeTimeInMinutes = bake;
  const alarms = dc.obj2('alarms');
  if (alarms) {
    const alarmNames = alarms.strList('alarmNames', { required: true }) ?? [];
    out.alarms = { alarmNames, enable: alarms.boolReq('enable'), rollback: alarms.boolReq('rollback') };
  }
  return out;
}
