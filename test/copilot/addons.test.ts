/**
 * The CloudFormation addons: what each promises (encrypted Redis with a generated AUTH token and noeviction, a
 * private temp bucket that expires objects and refuses plain HTTP, alarms on an SNS topic), that the manifests and
 * the addons name the same exports and secrets, that every custom metric an alarm reads is published by code in
 * this repository (controller/metrics-publisher/catalog.ts) with the alarm's dimensions, that each workload's IAM
 * policy is least-privilege (a PutMetricData grant only for a service that publishes), and that the loader catches
 * addon mistakes (unknown references, merge conflicts, parameter files) at file:line:column.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { loadCopilotApp, type CopilotApp } from '../../services/platform/copilot-manifests.ts';
import { parseYamlSource, type YamlSource } from '../../services/platform/yaml-source.ts';
import { QUEUE_DEPTH_METRIC } from '../../controller/diff/normalize.ts';
import { PUBLISHED_METRICS, RECONCILE_ERRORS, appDimensions } from '../../controller/metrics-publisher/catalog.ts';
import { loadDesiredState, parseDurationMs } from '../../services/platform/desired-state.ts';
import { positionOf, render, validateInline } from './inline-workspace.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const app: CopilotApp = loadCopilotApp(ROOT);

type Obj = Record<string, unknown>;

function envAddon(file: string): Obj {
  const src = app.environmentAddons.find((a) => a.file === `copilot/environments/addons/${file}`);
  if (!src) throw new Error(`no addon ${file}`);
  return src.value as Obj;
}

function resources(template: Obj, type?: string): Record<string, Obj> {
  const all = template.Resources as Record<string, Obj>;
  return Object.fromEntries(Object.entries(all).filter(([, r]) => type === undefined || r.Type === type));
}

function props(template: Obj, id: string): Obj {
  const r = (template.Resources as Record<string, Obj>)[id];
  if (!r) throw new Error(`no resource ${id}`);
  return r.Properties as Obj;
}

/** `${App}`/`${Env}` of an addon written as the manifests write them, to compare names across the two. */
function asManifestName(sub: unknown): string {
  const text = typeof sub === 'object' && sub !== null ? (sub as Obj)['Fn::Sub'] : undefined;
  if (typeof text !== 'string') throw new Error(`not a Fn::Sub string: ${JSON.stringify(sub)}`);
  return text.replace('${App}', '${COPILOT_APPLICATION_NAME}').replace('${Env}', '${COPILOT_ENVIRONMENT_NAME}');
}

test('redis: TLS, encryption at rest, generated AUTH token, noeviction, private subnets, 6379 from the env SG only', () => {
  const t = envAddon('redis.yml');
  const [groupId] = Object.keys(resources(t, 'AWS::ElastiCache::ReplicationGroup'));
  assert.ok(groupId, 'one replication group');
  const group = props(t, groupId!);
  assert.is(group.TransitEncryptionEnabled, true);
  assert.is(group.AtRestEncryptionEnabled, true);
  assert.match(String(group.EngineVersion), /^7\./);
  const token = String((group.AuthToken as Obj)['Fn::Sub']);
  const tokenSecret = /\{\{resolve:secretsmanager:\$\{(\w+)\}/.exec(token)?.[1];
  assert.ok(tokenSecret, `AuthToken is a Secrets Manager dynamic reference: ${token}`);
  assert.is((t.Resources as Record<string, Obj>)[tokenSecret!]!.Type, 'AWS::SecretsManager::Secret');
  assert.ok(typeof props(t, tokenSecret!).GenerateSecretString === 'object', 'the token is generated, never written');

  const paramGroup = props(t, String((group.CacheParameterGroupName as Obj).Ref));
  assert.equal(paramGroup.Properties, { 'maxmemory-policy': 'noeviction' });
  assert.is(paramGroup.CacheParameterGroupFamily, 'redis7');

  const subnets = props(t, String((group.CacheSubnetGroupName as Obj).Ref));
  const subnetParam = String((subnets.SubnetIds as Obj).Ref);
  assert.is(((t.Parameters as Obj)[subnetParam] as Obj).Type, 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>');

  const sgIds = group.SecurityGroupIds as Obj[];
  assert.is(sgIds.length, 1);
  const sg = props(t, String(sgIds[0]!.Ref));
  assert.equal(sg.SecurityGroupIngress, [{ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, SourceSecurityGroupId: { Ref: 'EnvironmentSecurityGroup' }, Description: "Redis from the environment's tasks" }]);

  // The URL secret the manifests inject: same name, rediss://, both Copilot tags.
  const urlSecrets = Object.entries(resources(t, 'AWS::SecretsManager::Secret')).filter(([, r]) => String(((r.Properties as Obj).Name as Obj)['Fn::Sub']).endsWith('/redis-url'));
  assert.is(urlSecrets.length, 1);
  const url = urlSecrets[0]![1].Properties as Obj;
  assert.match(String((url.SecretString as Obj)['Fn::Sub']), /^rediss:\/\/:\{\{resolve:secretsmanager:\$\{RedisAuthToken\}:SecretString\}\}@/);
  assert.equal((url.Tags as Obj[]).map((x) => x.Key).sort(), ['copilot-application', 'copilot-environment']);
  for (const s of app.services) {
    assert.equal((s.manifest.secrets as Obj).REDIS_URL, { secretsmanager: asManifestName(url.Name) }, `${s.name} reads the addon's secret`);
  }
});

test('temp bucket: encrypted, never public, objects expire after a day, TLS-only policy, exported name', () => {
  const t = envAddon('temp-bucket.yml');
  const [bucketId] = Object.keys(resources(t, 'AWS::S3::Bucket'));
  const b = props(t, bucketId!);
  const sse = ((b.BucketEncryption as Obj).ServerSideEncryptionConfiguration as Obj[])[0]!.ServerSideEncryptionByDefault as Obj;
  assert.ok(['aws:kms', 'AES256'].includes(String(sse.SSEAlgorithm)));
  assert.equal(b.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  const rules = (b.LifecycleConfiguration as Obj).Rules as Obj[];
  assert.ok(rules.some((r) => r.Status === 'Enabled' && r.ExpirationInDays === 1 && r.Prefix === undefined), 'every object expires after 1 day');

  const [policyId] = Object.keys(resources(t, 'AWS::S3::BucketPolicy'));
  const policy = props(t, policyId!);
  assert.equal(policy.Bucket, { Ref: bucketId });
  const statements = (policy.PolicyDocument as Obj).Statement as Obj[];
  const tls = statements.find((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }));
  assert.ok(tls, 'denies requests without TLS');
  assert.is(tls!.Principal, '*');
  assert.equal(tls!.Resource, [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Sub': `\${${bucketId}.Arn}/*` }]);

  const exported = ((t.Outputs as Obj).TempBucketName as Obj).Export as Obj;
  for (const s of app.services) {
    assert.equal((s.manifest.variables as Obj).S3_TEMP_BUCKET, { from_cfn: asManifestName(exported.Name) }, `${s.name} reads the exported bucket name`);
  }
});

/** A metric an alarm reads: its own, or each MetricStat of its metric math. */
interface AlarmMetric {
  alarm: string;
  namespace: string;
  metricName: string;
  dimensions: { Name: string; Value: unknown }[];
}

function alarmMetrics(t: Obj): AlarmMetric[] {
  return Object.entries(resources(t, 'AWS::CloudWatch::Alarm')).flatMap(([id, r]) => {
    const a = r.Properties as Obj;
    const stats = a.MetricName !== undefined ? [a] : (a.Metrics as Obj[]).filter((m) => m.MetricStat).map((m) => (m.MetricStat as Obj).Metric as Obj);
    return stats.map((m) => ({ alarm: id, namespace: String(m.Namespace), metricName: String(m.MetricName), dimensions: (m.Dimensions ?? []) as AlarmMetric['dimensions'] }));
  });
}

test('alarms: queue depth, ALB 5xx and reconciler errors notify one encrypted SNS topic', () => {
  const t = envAddon('alarms.yml');
  const [topicId] = Object.keys(resources(t, 'AWS::SNS::Topic'));
  assert.ok(topicId);
  assert.ok(props(t, topicId!).KmsMasterKeyId, 'the topic is encrypted');
  const alarms = Object.values(resources(t, 'AWS::CloudWatch::Alarm')).map((r) => r.Properties as Obj);
  for (const a of alarms) assert.equal(a.AlarmActions, [{ Ref: topicId }], String((a.AlarmName as Obj)['Fn::Sub']));
  const metricOf = (a: Obj): string[] => (a.MetricName ? [`${a.Namespace}/${a.MetricName}`] : (a.Metrics as Obj[]).filter((m) => m.MetricStat).map((m) => {
    const metric = ((m.MetricStat as Obj).Metric as Obj);
    return `${metric.Namespace}/${metric.MetricName}`;
  }));
  const metrics = alarms.flatMap(metricOf);
  assert.ok(metrics.includes(`${QUEUE_DEPTH_METRIC.namespace}/${QUEUE_DEPTH_METRIC.metricName}`), 'queue depth: the metric the reconciler scales on');
  assert.ok(metrics.includes('AWS/ApplicationELB/HTTPCode_Target_5XX_Count') && metrics.includes('AWS/ApplicationELB/HTTPCode_ELB_5XX_Count'));
  assert.ok(metrics.includes('ContentTrends/ReconcileErrors'));
  const queue = alarms.find((a) => a.MetricName === QUEUE_DEPTH_METRIC.metricName)!;
  assert.equal((queue.Dimensions as Obj[]).map((d) => d.Name), ['Application', 'Environment'], 'the dimensions the reconciler publishes');
  assert.ok((t.Outputs as Obj).AlarmTopicArn, 'topic exported');
});

test('every custom metric an alarm reads is published by code in this repository, with the alarm\'s dimensions', async () => {
  const read = app.environmentAddons.flatMap((a) => alarmMetrics(a.value as Obj)).filter((m) => !m.namespace.startsWith('AWS/'));
  assert.ok(read.length >= 2, 'the custom-metric alarms were found');
  for (const m of read) {
    const published = PUBLISHED_METRICS.find((p) => p.namespace === m.namespace && p.metricName === m.metricName);
    assert.ok(published, `${m.alarm} reads ${m.namespace}/${m.metricName}, which nothing publishes (controller/metrics-publisher/catalog.ts lists what is published)`);
    assert.equal(m.dimensions.map((d) => d.Name).sort(), [...published!.dimensionNames], `${m.alarm}: the dimensions ${m.metricName} is published with`);
    // The values: the alarm's ${App} / ${Env}, and the publisher's metadata.app / metadata.environment.
    assert.equal(m.dimensions.map((d) => [d.Name, d.Value]).sort(), [['Application', { Ref: 'App' }], ['Environment', { Ref: 'Env' }]], m.alarm);
  }
  // metadata.app / metadata.environment of each environment's document are Copilot's application and environment names.
  assert.ok(app.environments.length > 0);
  for (const env of app.environments) {
    const desired = await loadDesiredState(`desired-state/${env.name}.yml`, {});
    assert.equal(appDimensions(desired), [{ name: 'Application', value: app.application }, { name: 'Environment', value: env.name }], `desired-state/${env.name}.yml metadata`);
  }
});

test('reconcile-errors alarm: a datapoint per pass makes Sum > 0 in 2 of 3 periods an error, and silence a breach', async () => {
  const t = envAddon('alarms.yml');
  const alarm = Object.values(resources(t, 'AWS::CloudWatch::Alarm')).map((r) => r.Properties as Obj).find((a) => a.MetricName === RECONCILE_ERRORS.metricName);
  assert.ok(alarm, 'an alarm reads ReconcileErrors');
  assert.equal([alarm!.Namespace, alarm!.Statistic, alarm!.Threshold, alarm!.ComparisonOperator], [RECONCILE_ERRORS.namespace, 'Sum', 0, 'GreaterThanThreshold']);
  assert.equal([alarm!.EvaluationPeriods, alarm!.DatapointsToAlarm], [3, 2], 'one bad pass alone does not page');
  assert.is(alarm!.TreatMissingData, 'breaching', 'a clean pass publishes 0, so no data means no reconciler reporting');
  // Missing data breaches, so every period must get datapoints: at least two passes per period in every environment,
  // with the reconciler manifest's variables as the document's interpolation environment.
  const reconciler = app.services.find((s) => s.name === 'reconciler')!;
  const vars = (o: unknown): Record<string, string> => Object.fromEntries(Object.entries((o ?? {}) as Obj).filter(([, v]) => typeof v === 'string') as [string, string][]);
  for (const env of app.environments) {
    const overrides = ((reconciler.manifest.environments as Obj | undefined)?.[env.name] as Obj | undefined)?.variables;
    const desired = await loadDesiredState(`desired-state/${env.name}.yml`, { ...vars(reconciler.manifest.variables), ...vars(overrides) });
    const intervalMs = desired.spec.management.interval !== undefined ? parseDurationMs(desired.spec.management.interval) : Number(vars(reconciler.manifest.variables).RECONCILE_INTERVAL_MS ?? 60_000);
    assert.ok(intervalMs * 2 <= Number(alarm!.Period) * 1000, `${env.name}: a pass every ${intervalMs} ms leaves periods of ${String(alarm!.Period)} s without two datapoints`);
  }
});

test('environment addons.parameters.yml gives a value to every extra parameter and nothing else', () => {
  const given = Object.keys((app.environmentAddonParameters!.value as Obj).Parameters as Obj).sort();
  const needed = new Set<string>();
  for (const a of app.environmentAddons) {
    for (const [name, def] of Object.entries((a.value as Obj).Parameters as Record<string, Obj>)) if (!['App', 'Env'].includes(name) && !('Default' in def)) needed.add(name);
  }
  const declared = new Set(app.environmentAddons.flatMap((a) => Object.keys((a.value as Obj).Parameters as Obj)));
  for (const n of needed) assert.ok(given.includes(n), `${n} has a value`);
  for (const n of given) assert.ok(declared.has(n), `${n} is declared`);
});

// ---------------------------------------------------------------------------------------------------------------
// Workload IAM: least privilege

/** Actions that take no resource type, so `Resource: '*'` is the only form (Service Authorization Reference). */
const NO_RESOURCE_TYPE = new Set([
  'cloudwatch:PutMetricData',
  'ecs:ListServices',
  'ecs:DescribeTaskDefinition',
  'application-autoscaling:DescribeScalableTargets',
  'application-autoscaling:DescribeScalingPolicies',
  'application-autoscaling:DescribeScalingActivities',
  // Issues a token for the calling principal itself (like GetCallerIdentity); narrowed by sts:IdentityTokenAudience.
  'sts:GetWebIdentityToken',
]);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Obj;
}

function policyOf(service: string): { statements: Statement[]; template: Obj } {
  const s = app.services.find((x) => x.name === service)!;
  assert.is(s.addons.length, 1);
  const template = s.addons[0]!.value as Obj;
  const policies = resources(template, 'AWS::IAM::ManagedPolicy');
  const ids = Object.keys(policies);
  assert.is(ids.length, 1, `${service}: one managed policy`);
  const outputs = Object.values(template.Outputs as Record<string, Obj>);
  assert.ok(outputs.some((o) => JSON.stringify(o.Value) === JSON.stringify({ Ref: ids[0] })), `${service}: the policy ARN is an output (Copilot attaches it to the task role)`);
  return { statements: ((policies[ids[0]!]!.Properties as Obj).PolicyDocument as Obj).Statement as Statement[], template };
}

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

test('workload policies: no wildcard actions, "*" resources only where the action has no resource type', () => {
  for (const name of ['api', 'worker', 'reconciler']) {
    const { statements } = policyOf(name);
    for (const s of statements) {
      assert.is(s.Effect, 'Allow');
      for (const a of actions(s)) {
        assert.not.match(a, /\*/, `${name}: wildcard action ${a}`);
        assert.not.ok(a.startsWith('iam:'), `${name}: no IAM actions (${a})`);
      }
      if (s.Resource === '*') {
        for (const a of actions(s)) assert.ok(NO_RESOURCE_TYPE.has(a), `${name}: ${a} on "*" although it takes a resource`);
      }
      if (actions(s).includes('cloudwatch:PutMetricData')) {
        assert.equal(s.Condition, { StringEquals: { 'cloudwatch:namespace': { Ref: 'MetricNamespace' } } }, `${name}: PutMetricData limited to one namespace`);
      }
    }
  }
});

test('api may only put and get objects under uploads/ of the temp bucket, and get Entra-bound web identity tokens', () => {
  const { statements } = policyOf('api');
  assert.is(statements.length, 2);
  assert.equal(statements.flatMap(actions).sort(), ['s3:GetObject', 's3:PutObject', 'sts:GetWebIdentityToken']);
  const s3 = statements.find((s) => actions(s).includes('s3:PutObject'))!;
  const sub = (s3.Resource as Obj)['Fn::Sub'] as [string, Obj];
  assert.is(sub[0], '${BucketArn}/uploads/*');
  assert.equal(sub[1], { BucketArn: { 'Fn::ImportValue': { 'Fn::Sub': '${App}-${Env}-TempBucketArn' } } });
  const sts = statements.find((s) => actions(s).includes('sts:GetWebIdentityToken'));
  assert.equal(sts?.Condition, { 'ForAnyValue:StringEquals': { 'sts:IdentityTokenAudience': 'api://AzureADTokenExchange' } });
});

test('worker reads and deletes uploads and gets Entra-bound web identity tokens, nothing else (it publishes no metric)', () => {
  const { statements } = policyOf('worker');
  assert.equal(statements.flatMap(actions).sort(), ['s3:DeleteObject', 's3:GetObject', 'sts:GetWebIdentityToken']);
  const sts = statements.find((s) => actions(s).includes('sts:GetWebIdentityToken'));
  assert.equal(sts?.Condition, { 'ForAnyValue:StringEquals': { 'sts:IdentityTokenAudience': 'api://AzureADTokenExchange' } });
});

test('PutMetricData is granted exactly to the services that publish metrics, on the namespace they publish to', () => {
  const publishers = [...new Set(PUBLISHED_METRICS.map((m) => m.publisher))].sort();
  const granted = ['api', 'worker', 'reconciler'].filter((name) => policyOf(name).statements.some((s) => actions(s).includes('cloudwatch:PutMetricData'))).sort();
  assert.equal(granted, publishers, 'a grant nobody uses is removed; a publisher without one would be refused');
  for (const name of granted) {
    const param = ((policyOf(name).template.Parameters as Record<string, Obj>).MetricNamespace)!;
    assert.equal([...new Set(PUBLISHED_METRICS.filter((m) => m.publisher === name).map((m) => m.namespace))], [param.Default], `${name}: the namespace its metrics are in`);
  }
});

test('reconciler: ECS of its cluster, scaling without PassRole, storage policies of the temp bucket, metrics', () => {
  const { statements } = policyOf('reconciler');
  const all = statements.flatMap(actions);
  for (const a of ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:ListServices', 'ecs:DescribeTaskDefinition', 'ecs:ListTagsForResource',
    'application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy', 'application-autoscaling:DescribeScalableTargets',
    's3:GetLifecycleConfiguration', 's3:PutLifecycleConfiguration', 's3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration', 'cloudwatch:PutMetricData']) {
    assert.ok(all.includes(a), `grants ${a}`);
  }
  assert.not.ok(all.some((a) => a.startsWith('iam:')), 'no iam:PassRole: the service-linked role is used');
  const update = statements.find((s) => actions(s).includes('ecs:UpdateService'))!;
  const services = (update.Resource as Obj[]).map((r) => JSON.stringify(r));
  assert.ok(services.some((r) => r.includes(':service/${Cluster}/*') && r.includes('-ClusterId')), 'UpdateService is limited to the services of the imported cluster');
  const list = statements.find((s) => actions(s).includes('ecs:ListServices'))!;
  assert.ok(JSON.stringify(list.Condition).includes('ecs:cluster'), 'ListServices is limited by the ecs:cluster condition');
  const s3 = statements.find((s) => actions(s).includes('s3:PutLifecycleConfiguration'))!;
  assert.equal(s3.Resource, { 'Fn::ImportValue': { 'Fn::Sub': '${App}-${Env}-TempBucketArn' } });
  const scaling = statements.find((s) => actions(s).includes('application-autoscaling:PutScalingPolicy'))!;
  assert.match(JSON.stringify(scaling.Resource), /scalable-target\/\*/);
});

test('reconciler may PutMetricData only into the namespace of the queue-depth metric it publishes, and no other CloudWatch call', () => {
  const { statements, template } = policyOf('reconciler');
  const cw = statements.filter((s) => actions(s).some((a) => a.startsWith('cloudwatch:')));
  assert.is(cw.length, 1, 'one CloudWatch statement');
  assert.equal(actions(cw[0]!), ['cloudwatch:PutMetricData'], 'publishing only: no reads, no alarms, no dashboards');
  assert.is(cw[0]!.Resource, '*', 'PutMetricData has no resource type');
  assert.equal(cw[0]!.Condition, { StringEquals: { 'cloudwatch:namespace': { Ref: 'MetricNamespace' } } }, 'narrowed by the namespace condition key');
  const param = (template.Parameters as Record<string, Obj>).MetricNamespace!;
  assert.equal([param.Type, param.Default], ['String', QUEUE_DEPTH_METRIC.namespace], 'the namespace controller/queue-depth publishes to');
  const reconciler = app.services.find((x) => x.name === 'reconciler')!;
  const overridden = (reconciler.addonParameters?.value as { Parameters?: Obj } | undefined)?.Parameters?.MetricNamespace;
  assert.is(overridden, undefined, 'no addons.parameters.yml widens it');
});

// ---------------------------------------------------------------------------------------------------------------
// The loader on broken addons

const JOBS = ['name: jobs', 'type: Backend Service', 'image:', '  build: Dockerfile', 'count: 1', ''].join('\n');

test('broken addons: unknown references, conflicting duplicates, and a bad parameters file', () => {
  const a = [
    'Parameters:',
    '  App: { Type: String }',
    '  Env: { Type: String }',
    '  Name: { Type: String }',
    '  Bucket: { Type: String }',
    'Resources:',
    '  Policy:',
    '    Type: AWS::IAM::ManagedPolicy',
    '    Condition: IsProd',
    '    Properties:',
    '      PolicyDocument:',
    '        Statement:',
    '          - Resource: !Sub "arn:aws:s3:::${Bucket}/${Prefix}"',
    '          - Resource: !If [IsProd, !GetAtt Missing.Arn, !Ref Policy]',
    'Outputs:',
    '  PolicyArn: { Value: !Ref Polcy }',
    '',
  ].join('\n');
  const b = [
    'Parameters:',
    '  App: { Type: String }',
    '  Env: { Type: String }',
    '  Name: { Type: String }',
    'Resources:',
    '  Policy:',
    '    Type: AWS::IAM::Role',
    '',
  ].join('\n');
  const params = ['Parameters:', '  App: demo', '  Extra: !Ref Service', ''].join('\n');
  const problems = validateInline({
    'copilot/jobs/manifest.yml': JOBS,
    'copilot/jobs/addons/a.yml': a,
    'copilot/jobs/addons/b.yml': b,
    'copilot/jobs/addons/addons.parameters.yml': params,
  });
  const fa = 'copilot/jobs/addons/a.yml';
  assert.equal(problems, [
    { where: `${fa}:${positionOf(a, 'IsProd')} /Resources/Policy/Condition`, message: 'condition `IsProd` is not defined under Conditions' },
    { where: `${fa}:${positionOf(a, '!Sub')} /Resources/Policy/Properties/PolicyDocument/Statement/0/Resource/Fn::Sub`, message: '`Fn::Sub` refers to `${Prefix}`, which this addon does not define' },
    { where: `${fa}:${positionOf(a, '!If')} /Resources/Policy/Properties/PolicyDocument/Statement/1/Resource/Fn::If`, message: 'condition `IsProd` is not defined under Conditions' },
    { where: `${fa}:${positionOf(a, '!GetAtt Missing')} /Resources/Policy/Properties/PolicyDocument/Statement/1/Resource/Fn::If/1/Fn::GetAtt`, message: '`Fn::GetAtt` names `Missing`, which is not a resource of this addon' },
    { where: `${fa}:${positionOf(a, '!Ref Polcy')} /Outputs/PolicyArn/Value/Ref`, message: '`Ref` names `Polcy`, which is not a parameter, resource or pseudo parameter of this addon' },
    { where: `copilot/jobs/addons/addons.parameters.yml:1:1 /Parameters`, message: 'no value for parameter `Bucket`, which has no Default' },
    { where: `copilot/jobs/addons/addons.parameters.yml:${positionOf(params, 'App')} /Parameters/App`, message: '`App` is reserved: Copilot passes App, Env, Name itself' },
    { where: `copilot/jobs/addons/addons.parameters.yml:${positionOf(params, 'Extra')} /Parameters/Extra`, message: '`Extra` is not a parameter of any addon template in this directory' },
    { where: `copilot/jobs/addons/b.yml:${positionOf(b, 'Policy:')} /Resources/Policy`, message: 'Resources `Policy` is also defined in copilot/jobs/addons/a.yml differently: Copilot merges all templates of this directory into one and rejects the conflict' },
  ], render(problems));
});

test('CloudFormation short-form tags become long form and keep their source positions', () => {
  const text = ['Resources:', '  R:', '    Type: AWS::S3::Bucket', '    Properties:', '      BucketName: !If [IsProd, !Sub "${AWS::StackName}-p", !Ref AWS::NoValue]', '      Tags: !GetAtt X.Y.Z', ''].join('\n');
  const src: YamlSource = parseYamlSource(text, 't.yml', { cloudFormation: true });
  assert.equal(src.problems, []);
  assert.equal((src.value as Obj).Resources, {
    R: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { 'Fn::If': ['IsProd', { 'Fn::Sub': '${AWS::StackName}-p' }, { Ref: 'AWS::NoValue' }] }, Tags: { 'Fn::GetAtt': ['X', 'Y.Z'] } } },
  });
  assert.is(src.where(['Resources', 'R', 'Properties', 'BucketName', 'Fn::If', 1, 'Fn::Sub']), `t.yml:${positionOf(text, '!Sub')} /Resources/R/Properties/BucketName/Fn::If/1/Fn::Sub`);
  // Without cloudFormation, a tag is an error with its position.
  const plain = parseYamlSource('a: !Ref X\n', 'p.yml');
  assert.equal(plain.problems, [{ where: 'p.yml:1:4', message: 'Unresolved tag: !Ref' }]);
});

test.run();
