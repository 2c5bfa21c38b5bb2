/**
 * The ECS / Application Auto Scaling / CloudWatch emulator, driven only through the real AWS SDK v3 clients over
 * HTTP: round trips, server defaults, pagination, AWS limits, exception classes and fault injection.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ECSClient, CreateClusterCommand, DescribeClustersCommand, ListClustersCommand, RegisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand, CreateServiceCommand, DescribeServicesCommand, UpdateServiceCommand, ListServicesCommand,
  ListTagsForResourceCommand, TagResourceCommand, paginateListServices, ServiceNotFoundException, ClusterNotFoundException,
  InvalidParameterException, ClientException, ServerException,
} from '@aws-sdk/client-ecs';
import {
  ApplicationAutoScalingClient, RegisterScalableTargetCommand, DescribeScalableTargetsCommand, DeregisterScalableTargetCommand,
  PutScalingPolicyCommand, DescribeScalingPoliciesCommand, DeleteScalingPolicyCommand, paginateDescribeScalingPolicies,
  ObjectNotFoundException, ValidationException, InternalServiceException, type PutScalingPolicyCommandInput,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CloudWatchClient, PutMetricDataCommand, InvalidParameterValueException, InvalidParameterCombinationException, MissingRequiredParameterException,
  InternalServiceFault, type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';

const DIM = 'ecs:service:DesiredCount';
let emu: AwsEmulator;
let ecs: ECSClient;
let aas: ApplicationAutoScalingClient;

function clients(maxAttempts: number): { ecs: ECSClient; aas: ApplicationAutoScalingClient } {
  const cfg = { endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts };
  return { ecs: new ECSClient(cfg), aas: new ApplicationAutoScalingClient(cfg) };
}

/** The error a call rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number }; $fault?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

async function cluster(name: string): Promise<void> {
  await ecs.send(new CreateClusterCommand({ clusterName: name }));
  await ecs.send(new RegisterTaskDefinitionCommand({
    family: `${name}-td`, requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '256', memory: '512',
    containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/nginx/nginx:latest', essential: true }],
  }));
}

async function service(clusterName: string, name: string, desiredCount = 1): Promise<void> {
  await ecs.send(new CreateServiceCommand({ cluster: clusterName, serviceName: name, taskDefinition: `${clusterName}-td`, desiredCount, launchType: 'FARGATE' }));
}

function targetTracking(name: string, resourceId: string, cfg: PutScalingPolicyCommandInput['TargetTrackingScalingPolicyConfiguration']): PutScalingPolicyCommandInput {
  return { PolicyName: name, ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: DIM, PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: cfg };
}

test.before(async () => {
  emu = await startAwsEmulator();
  ({ ecs, aas } = clients(1));
});

test.after(async () => {
  ecs.destroy();
  aas.destroy();
  await emu.close();
});

test('cluster, task definition and service round trip with ECS server defaults', async () => {
  await cluster('rt');
  const td2 = await ecs.send(new RegisterTaskDefinitionCommand({
    family: 'rt-td', requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '512', memory: '1024',
    containerDefinitions: [{ name: 'app', image: 'nginx:2' }], tags: [{ key: 'team', value: 'video' }],
  }));
  assert.is(td2.taskDefinition?.taskDefinitionArn, 'arn:aws:ecs:us-east-1:000000000000:task-definition/rt-td:2');
  assert.ok(td2.taskDefinition?.registeredAt instanceof Date);
  const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'rt-td', include: ['TAGS'] }));
  assert.is(described.taskDefinition?.revision, 2, 'a bare family resolves to the latest revision');
  assert.equal(described.tags, [{ key: 'team', value: 'video' }]);

  const created = await ecs.send(new CreateServiceCommand({
    cluster: 'rt', serviceName: 'api', taskDefinition: 'rt-td:1', desiredCount: 2, launchType: 'FARGATE',
    tags: [{ key: 'copilot-application', value: 'content-trends' }, { key: 'copilot-service', value: 'api' }],
  }));
  const s = created.service!;
  assert.is(s.serviceArn, 'arn:aws:ecs:us-east-1:000000000000:service/rt/api');
  assert.is(s.clusterArn, 'arn:aws:ecs:us-east-1:000000000000:cluster/rt');
  assert.is(s.taskDefinition, 'arn:aws:ecs:us-east-1:000000000000:task-definition/rt-td:1');
  assert.equal(s.deploymentConfiguration?.deploymentCircuitBreaker, { enable: false, rollback: false });
  assert.is(s.deploymentConfiguration?.maximumPercent, 200);
  assert.is(s.deploymentConfiguration?.minimumHealthyPercent, 100);
  assert.is(s.deploymentConfiguration?.strategy, 'ROLLING');
  assert.is(s.enableExecuteCommand, false);
  assert.is(s.platformVersion, 'LATEST');

  const withTags = await ecs.send(new DescribeServicesCommand({ cluster: 'rt', services: ['api'], include: ['TAGS'] }));
  const d = withTags.services![0]!;
  assert.is(d.runningCount, 2);
  assert.is(d.deployments?.length, 1);
  assert.is(d.deployments?.[0]?.status, 'PRIMARY');
  assert.is(d.deployments?.[0]?.rolloutState, 'COMPLETED');
  assert.ok(d.createdAt instanceof Date && d.deployments?.[0]?.createdAt instanceof Date, 'epoch-second timestamps parse as Dates');
  assert.equal(d.tags?.map((t) => t.key), ['copilot-application', 'copilot-service']);
  const noTags = await ecs.send(new DescribeServicesCommand({ cluster: 'arn:aws:ecs:us-east-1:000000000000:cluster/rt', services: [s.serviceArn!] }));
  assert.is(noTags.services?.[0]?.serviceName, 'api', 'cluster and service may be given as ARNs');
  assert.is(noTags.services?.[0]?.tags, undefined, 'tags only with include TAGS');

  const clusters = await ecs.send(new DescribeClustersCommand({ clusters: ['rt', 'absent'] }));
  assert.is(clusters.clusters?.[0]?.activeServicesCount, 1);
  assert.is(clusters.clusters?.[0]?.runningTasksCount, 2);
  assert.equal(clusters.failures, [{ arn: 'arn:aws:ecs:us-east-1:000000000000:cluster/absent', reason: 'MISSING' }]);
  const again = await ecs.send(new CreateClusterCommand({ clusterName: 'rt' }));
  assert.is(again.cluster?.activeServicesCount, 1, 'CreateCluster of an existing name returns it');
  const list = await ecs.send(new ListClustersCommand({}));
  assert.ok(list.clusterArns?.includes('arn:aws:ecs:us-east-1:000000000000:cluster/rt'));
});

test('UpdateService applies desired count, deployment configuration, exec and task definition; omitted fields keep their value', async () => {
  await cluster('up');
  await service('up', 'worker', 1);
  await ecs.send(new RegisterTaskDefinitionCommand({ family: 'up-td', containerDefinitions: [{ name: 'app', image: 'nginx:2' }], requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '256', memory: '512' }));
  const updated = await ecs.send(new UpdateServiceCommand({
    cluster: 'up', service: 'worker', desiredCount: 3, enableExecuteCommand: true, taskDefinition: 'up-td:2',
    deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true }, strategy: 'BLUE_GREEN', bakeTimeInMinutes: 10, minimumHealthyPercent: 50, maximumPercent: 150 },
  }));
  const s = updated.service!;
  assert.is(s.desiredCount, 3);
  assert.is(s.enableExecuteCommand, true);
  assert.is(s.taskDefinition, 'arn:aws:ecs:us-east-1:000000000000:task-definition/up-td:2');
  assert.equal(s.deploymentConfiguration, { deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 150, minimumHealthyPercent: 50, strategy: 'BLUE_GREEN', bakeTimeInMinutes: 10 });
  assert.is(s.deployments?.[0]?.taskDefinition, s.taskDefinition, 'a new task definition starts a new deployment');

  const second = await ecs.send(new UpdateServiceCommand({ cluster: 'up', service: 'worker', desiredCount: 4 }));
  assert.is(second.service?.deploymentConfiguration?.strategy, 'BLUE_GREEN');
  assert.is(second.service?.deploymentConfiguration?.bakeTimeInMinutes, 10);
  assert.is(second.service?.enableExecuteCommand, true);
  assert.is(second.service?.runningCount, 4);
  assert.is(emu.state.getService('up', 'worker')?.desiredCount, 4, 'the typed state accessor sees the change');

  const bad = await rejection(ecs.send(new UpdateServiceCommand({ cluster: 'up', service: 'worker', desiredCount: 9, deploymentConfiguration: { maximumPercent: 500 } })));
  assert.ok(bad instanceof InvalidParameterException);
  assert.match(bad.message, /deploymentConfiguration\.maximumPercent/);
  assert.is(emu.state.getService('up', 'worker')?.desiredCount, 4, 'a refused update changes nothing');
});

test('a deployment stays IN_PROGRESS for rolloutMs, with the old one ACTIVE beside it', async () => {
  const slow = await startAwsEmulator({ rolloutMs: 3_600_000 });
  const client = new ECSClient({ endpoint: slow.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  try {
    await client.send(new CreateClusterCommand({ clusterName: 'c' }));
    for (const image of ['a', 'b']) await client.send(new RegisterTaskDefinitionCommand({ family: 'f', containerDefinitions: [{ name: 'x', image }] }));
    await client.send(new CreateServiceCommand({ cluster: 'c', serviceName: 's', taskDefinition: 'f:1', desiredCount: 2 }));
    slow.state.getService('c', 's')!.deployments[0]!.createdAtMs -= 3_600_000; // the first rollout is long done
    const out = await client.send(new UpdateServiceCommand({ cluster: 'c', service: 's', taskDefinition: 'f:2' }));
    assert.equal(out.service?.deployments?.map((d) => [d.status, d.rolloutState, d.runningCount]), [['PRIMARY', 'IN_PROGRESS', 0], ['ACTIVE', 'COMPLETED', 2]]);
    assert.is(out.service?.runningCount, 2);
    assert.is(out.service?.pendingCount, 2);
  } finally {
    client.destroy();
    await slow.close();
  }
});

test('ListServices pages 25 services 10 at a time (default) and up to 100; bad input is refused like ECS', async () => {
  await cluster('many');
  for (let i = 0; i < 25; i++) await service('many', `svc-${String(i).padStart(2, '0')}`, 0);
  const first = await ecs.send(new ListServicesCommand({ cluster: 'many' }));
  assert.is(first.serviceArns?.length, 10, 'default maxResults is 10');
  assert.ok(first.nextToken);
  const sizes: number[] = [];
  const arns: string[] = [];
  for await (const page of paginateListServices({ client: ecs, pageSize: 10 }, { cluster: 'many' })) {
    sizes.push(page.serviceArns?.length ?? 0);
    arns.push(...(page.serviceArns ?? []));
  }
  assert.equal(sizes, [10, 10, 5]);
  assert.is(new Set(arns).size, 25);
  assert.is(arns[24], 'arn:aws:ecs:us-east-1:000000000000:service/many/svc-24');
  const all = await ecs.send(new ListServicesCommand({ cluster: 'many', maxResults: 100 }));
  assert.is(all.serviceArns?.length, 25);
  assert.is(all.nextToken, undefined);
  assert.ok((await rejection(ecs.send(new ListServicesCommand({ cluster: 'many', maxResults: 101 })))) instanceof InvalidParameterException);
  assert.ok((await rejection(ecs.send(new ListServicesCommand({ cluster: 'many', nextToken: 'bogus' })))) instanceof InvalidParameterException);
  const foreign = await rejection(ecs.send(new ListServicesCommand({ cluster: 'rt', nextToken: first.nextToken })));
  assert.ok(foreign instanceof InvalidParameterException, 'a token from another listing is refused');
});

test('DescribeServices takes at most 10 services and reports missing ones as failures', async () => {
  const names = Array.from({ length: 11 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  const err = await rejection(ecs.send(new DescribeServicesCommand({ cluster: 'many', services: names })));
  assert.ok(err instanceof InvalidParameterException);
  assert.is(err.name, 'InvalidParameterException');
  assert.is(err.message, 'service names can have at most 10 items.');
  assert.is(err.$metadata?.httpStatusCode, 400);
  const ok = await ecs.send(new DescribeServicesCommand({ cluster: 'many', services: [...names.slice(0, 9), 'ghost'] }));
  assert.is(ok.services?.length, 9);
  assert.equal(ok.failures, [{ arn: 'arn:aws:ecs:us-east-1:000000000000:service/many/ghost', reason: 'MISSING' }]);
  assert.ok((await rejection(ecs.send(new DescribeServicesCommand({ cluster: 'many', services: [] })))) instanceof InvalidParameterException);
});

test('errors carry the real exception names and map to the SDK exception classes', async () => {
  const missingService = await rejection(ecs.send(new UpdateServiceCommand({ cluster: 'rt', service: 'nope', desiredCount: 1 })));
  assert.ok(missingService instanceof ServiceNotFoundException);
  assert.is(missingService.name, 'ServiceNotFoundException');
  const missingCluster = await rejection(ecs.send(new DescribeServicesCommand({ cluster: 'nowhere', services: ['a'] })));
  assert.ok(missingCluster instanceof ClusterNotFoundException);
  assert.is(missingCluster.name, 'ClusterNotFoundException');
  const duplicate = await rejection(service('rt', 'api'));
  assert.ok(duplicate instanceof InvalidParameterException);
  assert.match(duplicate.message, /not idempotent/);
  const noTd = await rejection(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'ghost:7' })));
  assert.ok(noTd instanceof ClientException);
  const badName = await rejection(ecs.send(new CreateServiceCommand({ cluster: 'rt', serviceName: 'has space', taskDefinition: 'rt-td' })));
  assert.ok(badName instanceof InvalidParameterException);
  assert.match(badName.message, /serviceName/);
});

test('TagResource merges tags and ListTagsForResource reads them; reserved keys are refused', async () => {
  const arn = 'arn:aws:ecs:us-east-1:000000000000:service/rt/api';
  await ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: 'copilot-service', value: 'api-v2' }, { key: 'owner', value: 'video' }] }));
  const tags = await ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  assert.equal(tags.tags, [{ key: 'copilot-application', value: 'content-trends' }, { key: 'copilot-service', value: 'api-v2' }, { key: 'owner', value: 'video' }]);
  assert.ok((await rejection(ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: 'aws:x', value: '1' }] })))) instanceof InvalidParameterException);
  assert.ok((await rejection(ecs.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecs:us-east-1:000000000000:service/rt/ghost' })))).name === 'ResourceNotFoundException');
});

test('RegisterScalableTarget creates, updates and moves the desired count into range; refusals are ValidationException', async () => {
  await cluster('as');
  await service('as', 'api', 1);
  const id = 'service/as/api';
  const reg = await aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM, MinCapacity: 2, MaxCapacity: 8 }));
  assert.match(reg.ScalableTargetARN ?? '', /^arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target\/[0-9a-f]{36}$/);
  const svc = await ecs.send(new DescribeServicesCommand({ cluster: 'as', services: ['api'] }));
  assert.is(svc.services?.[0]?.desiredCount, 2, 'a new minimum above the desired count scales out');

  await aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM, MaxCapacity: 5, SuspendedState: { DynamicScalingInSuspended: true } }));
  const desc = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [id] }));
  const t = desc.ScalableTargets![0]!;
  assert.is(t.MinCapacity, 2, 'omitted MinCapacity keeps its value');
  assert.is(t.MaxCapacity, 5);
  assert.equal(t.SuspendedState, { DynamicScalingInSuspended: true, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false });
  assert.ok(t.CreationTime instanceof Date);
  assert.is(t.ScalableTargetARN, reg.ScalableTargetARN, 'an update keeps the ARN');

  const noService = await rejection(aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: 'service/as/ghost', ScalableDimension: DIM, MinCapacity: 1, MaxCapacity: 2 })));
  assert.ok(noService instanceof ValidationException);
  assert.is(noService.name, 'ValidationException');
  await service('as', 'fresh');
  const noBounds = await rejection(aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: 'service/as/fresh', ScalableDimension: DIM, MaxCapacity: 3 })));
  assert.ok(noBounds instanceof ValidationException);
  const inverted = await rejection(aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM, MinCapacity: 9, MaxCapacity: 3 })));
  assert.ok(inverted instanceof ValidationException);
  assert.is(emu.state.getScalableTarget(id)?.maxCapacity, 5, 'a refused update changes nothing');
});

test('PutScalingPolicy stores target tracking policies (predefined and custom metric); DescribeScalingPolicies returns them', async () => {
  const id = 'service/as/api';
  const cpu = await aas.send(new PutScalingPolicyCommand(targetTracking('cpu60', id, { TargetValue: 60, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, ScaleInCooldown: 300, ScaleOutCooldown: 60 })));
  assert.match(cpu.PolicyARN ?? '', /^arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:[0-9a-f-]{36}:resource\/ecs\/service\/as\/api:policyName\/cpu60$/);
  assert.is(cpu.Alarms?.length, 2);
  const queue = await aas.send(new PutScalingPolicyCommand(targetTracking('queue-depth', id, {
    TargetValue: 4,
    CustomizedMetricSpecification: { MetricName: 'WaitingJobsPerTask', Namespace: 'ContentTrends', Statistic: 'Average', Dimensions: [{ Name: 'Queue', Value: 'analyses' }] },
  })));
  const described = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: id }));
  assert.equal(described.ScalingPolicies?.map((p) => p.PolicyName), ['cpu60', 'queue-depth']);
  const q = described.ScalingPolicies![1]!;
  assert.is(q.PolicyARN, queue.PolicyARN);
  assert.is(q.PolicyType, 'TargetTrackingScaling');
  assert.equal(q.TargetTrackingScalingPolicyConfiguration?.CustomizedMetricSpecification?.Dimensions, [{ Name: 'Queue', Value: 'analyses' }]);
  assert.is(described.ScalingPolicies![0]!.TargetTrackingScalingPolicyConfiguration?.ScaleInCooldown, 300);

  const again = await aas.send(new PutScalingPolicyCommand(targetTracking('cpu60', id, { TargetValue: 70, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } })));
  assert.is(again.PolicyARN, cpu.PolicyARN, 'putting a policy again updates it in place');
  const byName = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', PolicyNames: ['cpu60'] }));
  assert.is(byName.ScalingPolicies?.[0]?.TargetTrackingScalingPolicyConfiguration?.TargetValue, 70);

  const noTarget = await rejection(aas.send(new PutScalingPolicyCommand(targetTracking('x', 'service/as/fresh', { TargetValue: 1, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } }))));
  assert.ok(noTarget instanceof ObjectNotFoundException);
  const both = await rejection(aas.send(new PutScalingPolicyCommand(targetTracking('x', id, {
    TargetValue: 1, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
    CustomizedMetricSpecification: { MetricName: 'm', Namespace: 'n', Statistic: 'Sum' },
  }))));
  assert.ok(both instanceof ValidationException);
  const albNoLabel = await rejection(aas.send(new PutScalingPolicyCommand(targetTracking('x', id, { TargetValue: 1000, PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' } }))));
  assert.ok(albNoLabel instanceof ValidationException);
  assert.match(albNoLabel.message, /ResourceLabel/);
});

test('DescribeScalingPolicies pages 10 at a time (AWS maximum); DescribeScalableTargets honours MaxResults', async () => {
  await cluster('pg');
  await service('pg', 'api', 1);
  const id = 'service/pg/api';
  await aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM, MinCapacity: 1, MaxCapacity: 4 }));
  for (let i = 0; i < 12; i++) {
    await aas.send(new PutScalingPolicyCommand(targetTracking(`p${i}`, id, { TargetValue: 50 + i, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageMemoryUtilization' } })));
  }
  const first = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: id }));
  assert.is(first.ScalingPolicies?.length, 10);
  assert.ok(first.NextToken);
  const names: string[] = [];
  for await (const page of paginateDescribeScalingPolicies({ client: aas }, { ServiceNamespace: 'ecs', ResourceId: id })) names.push(...(page.ScalingPolicies ?? []).map((p) => p.PolicyName!));
  assert.equal(names, Array.from({ length: 12 }, (_, i) => `p${i}`));
  assert.ok((await rejection(aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', MaxResults: 11 })))) instanceof ValidationException);
  const bad = await rejection(aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', NextToken: 'bogus' })));
  assert.is(bad.name, 'InvalidNextTokenException');
  await aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: 'service/as/fresh', ScalableDimension: DIM, MinCapacity: 0, MaxCapacity: 1 }));
  const targets = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', MaxResults: 2 }));
  assert.equal(targets.ScalableTargets?.map((t) => t.ResourceId), ['service/as/api', 'service/pg/api']);
  assert.ok(targets.NextToken);
  const rest = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', MaxResults: 2, NextToken: targets.NextToken }));
  assert.equal(rest.ScalableTargets?.map((t) => t.ResourceId), ['service/as/fresh']);
  assert.is(rest.NextToken, undefined);
});

test('DeleteScalingPolicy and DeregisterScalableTarget (which deletes the target\'s policies too)', async () => {
  const id = 'service/pg/api';
  await aas.send(new DeleteScalingPolicyCommand({ PolicyName: 'p0', ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM }));
  const gone = await rejection(aas.send(new DeleteScalingPolicyCommand({ PolicyName: 'p0', ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM })));
  assert.ok(gone instanceof ObjectNotFoundException);
  assert.is(emu.state.getScalingPolicies(id).length, 11);
  await aas.send(new DeregisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM }));
  assert.is(emu.state.getScalingPolicies(id).length, 0);
  const policies = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: id }));
  assert.equal(policies.ScalingPolicies, []);
  const twice = await rejection(aas.send(new DeregisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: id, ScalableDimension: DIM })));
  assert.ok(twice instanceof ObjectNotFoundException);
});

test('throttle fault: 400 ThrottlingException, retried by the SDK standard retry strategy', async () => {
  emu.resetCalls();
  emu.faults.add({ operation: 'UpdateService', kind: 'throttle', times: 1 });
  const err = await rejection(ecs.send(new UpdateServiceCommand({ cluster: 'rt', service: 'api', desiredCount: 3 })));
  assert.is(err.name, 'ThrottlingException');
  assert.is(err.$metadata?.httpStatusCode, 400);
  assert.is(emu.state.getService('rt', 'api')?.desiredCount, 2, 'a throttled call changes nothing');
  assert.is(emu.callCount('UpdateService'), 1);

  const retrying = clients(3);
  try {
    emu.faults.add({ operation: 'UpdateService', kind: 'throttle', times: 2 });
    const out = await retrying.ecs.send(new UpdateServiceCommand({ cluster: 'rt', service: 'api', desiredCount: 3 }));
    assert.is(out.service?.desiredCount, 3);
    assert.is(out.$metadata.attempts, 3);
    assert.is(emu.callCount('UpdateService'), 4);
    assert.equal(emu.calls.filter((c) => c.operation === 'UpdateService').map((c) => c.errorType ?? c.status), ['ThrottlingException', 'ThrottlingException', 'ThrottlingException', 200]);
    emu.faults.add({ kind: 'throttle', times: 1 });
    const aasOut = await retrying.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }));
    assert.is(aasOut.$metadata.attempts, 2, "'*' throttles Application Auto Scaling too");
  } finally {
    retrying.ecs.destroy();
    retrying.aas.destroy();
  }
});

test('server-error fault: 500 ServerException (ECS) / InternalServiceException (AAS); latency fault delays the answer', async () => {
  emu.faults.add({ operation: 'DescribeServices', kind: 'server-error', times: 1 });
  const ecsErr = await rejection(ecs.send(new DescribeServicesCommand({ cluster: 'rt', services: ['api'] })));
  assert.ok(ecsErr instanceof ServerException);
  assert.is(ecsErr.$metadata?.httpStatusCode, 500);
  assert.is(ecsErr.$fault, 'server');
  emu.faults.add({ operation: 'DescribeScalableTargets', kind: 'server-error' });
  for (let i = 0; i < 2; i++) assert.ok((await rejection(aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' })))) instanceof InternalServiceException, 'without times the fault stays');
  emu.faults.clear();
  assert.equal(emu.faults.active, []);
  await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }));

  emu.faults.add({ operation: 'ListClusters', kind: 'latency', latencyMs: 150, times: 1 });
  const started = Date.now();
  const out = await ecs.send(new ListClustersCommand({}));
  assert.ok(Date.now() - started >= 140, 'the answer waited for the injected latency');
  assert.ok((out.clusterArns?.length ?? 0) > 0, 'a latency fault still answers normally');
  const last = emu.calls[emu.calls.length - 1]!;
  assert.equal([last.operation, last.fault, last.delayedMs, last.status], ['ListClusters', 'latency', 150, 200]);
});

test('answers use the JSON 1.1 content type and a request id; SigV4-signed requests with any credentials are accepted', async () => {
  const seen: { status?: number; contentType?: string; requestId?: string } = {};
  const other = new ECSClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIAANYTHING', secretAccessKey: 'whatever', sessionToken: 'tok' }, maxAttempts: 1 });
  other.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const res = out.response as { statusCode?: number; headers?: Record<string, string> };
      seen.status = res.statusCode;
      seen.contentType = res.headers?.['content-type'];
      seen.requestId = res.headers?.['x-amzn-requestid'];
      return out;
    },
    { step: 'deserialize', priority: 'low' },
  );
  try {
    await other.send(new ListClustersCommand({}));
    assert.is(seen.status, 200);
    assert.is(seen.contentType, 'application/x-amz-json-1.1');
    assert.match(seen.requestId ?? '', /^[0-9a-f-]{36}$/);
  } finally {
    other.destroy();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// CloudWatch PutMetricData (AWS JSON 1.0, Query-compatible errors)

function cloudwatch(maxAttempts = 1): CloudWatchClient {
  return new CloudWatchClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts });
}

test('PutMetricData stores each datum as sent: dimensions as a set, unit None by default, the given timestamp', async () => {
  const cw = cloudwatch();
  const seen: { contentType?: string; target?: string; responseType?: string } = {};
  cw.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers: Record<string, string> };
      seen.contentType = req.headers['content-type'];
      seen.target = req.headers['x-amz-target'];
      const out = await next(args);
      seen.responseType = (out.response as { headers?: Record<string, string> }).headers?.['content-type'];
      return out;
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  try {
    emu.metrics.clear();
    const at = new Date(Date.now() - 60_000);
    await cw.send(new PutMetricDataCommand({
      Namespace: 'ContentTrends',
      MetricData: [
        { MetricName: 'QueueDepthPerTask', Value: 2.5, Unit: 'Count', Timestamp: at, Dimensions: [{ Name: 'Environment', Value: 'dev' }, { Name: 'Application', Value: 'ct' }] },
        { MetricName: 'Latency', StatisticValues: { SampleCount: 3, Sum: 9, Minimum: 1, Maximum: 5 }, StorageResolution: 1 },
        { MetricName: 'Sizes', Values: [1, 2], Counts: [3, 4] },
      ],
    }));
    assert.equal([seen.contentType, seen.target, seen.responseType], ['application/x-amz-json-1.0', 'GraniteServiceVersion20100801.PutMetricData', 'application/x-amz-json-1.0']);
    const [q, l, v] = emu.metrics.datapoints({ namespace: 'ContentTrends' });
    assert.equal(q, {
      namespace: 'ContentTrends', metricName: 'QueueDepthPerTask', dimensions: [{ name: 'Application', value: 'ct' }, { name: 'Environment', value: 'dev' }],
      timestampMs: at.getTime(), value: 2.5, unit: 'Count', storageResolution: 60, receivedAtMs: q!.receivedAtMs,
    });
    assert.equal([l!.statisticValues, l!.unit, l!.storageResolution], [{ sampleCount: 3, sum: 9, minimum: 1, maximum: 5 }, 'None', 1]);
    assert.ok(Math.abs(l!.timestampMs - Date.now()) < 5_000, 'no Timestamp: the time of receipt');
    assert.equal([v!.values, v!.counts], [[1, 2], [3, 4]]);
    assert.is(emu.metrics.datapoints({ dimensions: [{ name: 'Environment', value: 'dev' }, { name: 'Application', value: 'ct' }] }).length, 1, 'dimension filter ignores order');
    assert.is(emu.metrics.datapoints({ dimensions: [{ name: 'Environment', value: 'dev' }] }).length, 0, 'a subset of the dimensions is another metric');
  } finally {
    cw.destroy();
  }
});

test('PutMetricData limits: CloudWatch exception classes naming the field; a refused request stores nothing', async () => {
  const cw = cloudwatch();
  try {
    emu.metrics.clear();
    const put = (input: PutMetricDataCommandInput): Promise<unknown> => cw.send(new PutMetricDataCommand(input));
    const ok = { MetricName: 'm', Value: 1 };
    const cases: [PutMetricDataCommandInput, new (...a: never[]) => Error, RegExp][] = [
      [{ Namespace: 'AWS/ECS', MetricData: [ok] }, InvalidParameterValueException, /Namespace must not start with "AWS\/"/],
      [{ Namespace: 'ct', MetricData: [ok, { MetricName: 'm', Value: Number.NaN }] }, InvalidParameterValueException, /MetricData\[1\]\.Value must be a finite number, but was NaN/],
      [{ Namespace: 'ct', MetricData: [{ MetricName: 'm', Value: Number.POSITIVE_INFINITY }] }, InvalidParameterValueException, /but was Infinity/],
      [{ Namespace: 'ct', MetricData: [{ MetricName: 'm', Value: 2 ** 361 }] }, InvalidParameterValueException, /magnitude within 2\^-360 and 2\^360/],
      [{ Namespace: 'ct', MetricData: [{ MetricName: 'm', Value: 1, StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1 } }] }, InvalidParameterCombinationException, /StatisticValues cannot be used together with Value/],
      [{ Namespace: 'ct', MetricData: [{ Value: 1 } as never] }, MissingRequiredParameterException, /MetricData\[0\]\.MetricName is required/],
      [{ Namespace: 'ct', MetricData: [{ ...ok, Dimensions: Array.from({ length: 31 }, (_, i) => ({ Name: `d${i}`, Value: 'v' })) }] }, InvalidParameterValueException, /Dimensions can have at most 30 items/],
      [{ Namespace: 'ct', MetricData: [{ ...ok, Dimensions: [{ Name: 'a', Value: '1' }, { Name: 'a', Value: '2' }] }] }, InvalidParameterValueException, /repeats dimension a/],
      [{ Namespace: 'ct', MetricData: [{ ...ok, Unit: 'Jobs' as never }] }, InvalidParameterValueException, /Unit must be one of .*Count.* but was Jobs/],
      [{ Namespace: 'ct', MetricData: [{ ...ok, StorageResolution: 30 }] }, InvalidParameterValueException, /StorageResolution must be 1 or 60/],
      [{ Namespace: 'ct', MetricData: [{ ...ok, Timestamp: new Date(Date.now() - 15 * 24 * 3600_000) }] }, InvalidParameterValueException, /at most two weeks in the past/],
      [{ Namespace: 'ct', MetricData: Array.from({ length: 1001 }, () => ok) }, InvalidParameterValueException, /MetricData can have at most 1000 items/],
    ];
    for (const [input, type, message] of cases) {
      const err = await rejection(put(input));
      assert.ok(err instanceof type, `${type.name} expected, got ${err.name}: ${err.message}`);
      assert.match(err.message, message);
      assert.is(err.$metadata?.httpStatusCode, 400);
    }
    assert.is(emu.metrics.size, 0, 'nothing stored from a refused request, not even its valid data');
  } finally {
    cw.destroy();
  }
});

test('PutMetricData: a 1000-datum request goes gzip-compressed (the client compresses from 10 KiB) and is stored whole', async () => {
  const cw = cloudwatch();
  try {
    emu.metrics.clear();
    emu.resetCalls();
    const data = Array.from({ length: 1000 }, (_, i) => ({ MetricName: `metric-${i}`, Value: i, Unit: 'Count' as const, Dimensions: [{ Name: 'Application', Value: 'content-trends' }] }));
    await cw.send(new PutMetricDataCommand({ Namespace: 'ContentTrends', MetricData: data }));
    assert.is(emu.calls[0]?.contentEncoding, 'gzip');
    assert.is(emu.metrics.size, 1000);
    assert.is(emu.metrics.datapoints({ metricName: 'metric-999' })[0]?.value, 999);
  } finally {
    cw.destroy();
  }
});

test('PutMetricData faults: throttling is 400 Throttling (retried by the SDK), a server error 500 InternalServiceFault', async () => {
  const once = cloudwatch();
  const retrying = cloudwatch(3);
  const input = { Namespace: 'ContentTrends', MetricData: [{ MetricName: 'm', Value: 1 }] };
  try {
    emu.metrics.clear();
    emu.faults.add({ operation: 'PutMetricData', kind: 'throttle', times: 1 });
    const throttled = await rejection(once.send(new PutMetricDataCommand(input)));
    assert.equal([throttled.name, throttled.$metadata?.httpStatusCode], ['Throttling', 400]);
    emu.faults.add({ operation: 'PutMetricData', kind: 'server-error', times: 1 });
    const failed = await rejection(once.send(new PutMetricDataCommand(input)));
    assert.ok(failed instanceof InternalServiceFault);
    assert.equal([failed.$metadata?.httpStatusCode, failed.$fault], [500, 'server']);
    assert.is(emu.metrics.size, 0);
    emu.faults.add({ operation: 'PutMetricData', kind: 'throttle', times: 2 });
    const out = await retrying.send(new PutMetricDataCommand(input));
    assert.is(out.$metadata.attempts, 3);
    assert.is(emu.metrics.size, 1);
  } finally {
    once.destroy();
    retrying.destroy();
  }
});

test.run();
