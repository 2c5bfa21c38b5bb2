/**
 * The Copilot application in copilot/: every manifest validates in its base form and in every environment's
 * merged view, it says what the deployment needs (imported VPC, HTTPS, scaling, placement), it agrees with
 * desired-state/, and its variables are the runtime schema's. Then broken manifests, written inline into a temp
 * workspace, each produce one precise problem at a precise file:line:column and JSON path.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  environmentView,
  interpolate,
  loadCopilotApp,
  mergeEnvironment,
  referencedVariables,
  validateCopilotApp,
  type CopilotApp,
  type CopilotService,
} from '../../services/platform/copilot-manifests.ts';
import { checkAgainstSchema, WORKLOAD_SCHEMAS } from '../../services/platform/copilot/schema-check.ts';
import { positionOf, render, validateInline } from './inline-workspace.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENVIRONMENTS = ['dev', 'production', 'staging'];
const SERVICES = ['api', 'reconciler', 'worker'];

const app: CopilotApp = loadCopilotApp(ROOT);

function service(name: string): CopilotService {
  const s = app.services.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name}`);
  return s;
}

function view(name: string, env: string): Record<string, unknown> {
  return environmentView(app, service(name), env).manifest;
}

function at(obj: unknown, ...path: string[]): unknown {
  let v = obj;
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// The real application

test('loads the workspace, three environments, three services and their addons', () => {
  assert.is(app.application, 'content-trends');
  assert.equal(app.problems, [], render(app.problems));
  assert.equal(app.environments.map((e) => e.name), ENVIRONMENTS);
  assert.equal(app.services.map((s) => s.name), SERVICES);
  assert.equal(app.services.map((s) => s.type), ['Load Balanced Web Service', 'Backend Service', 'Backend Service']);
  assert.equal(app.environmentAddons.map((a) => a.file), [
    'copilot/environments/addons/alarms.yml',
    'copilot/environments/addons/redis.yml',
    'copilot/environments/addons/temp-bucket.yml',
  ]);
  assert.is(app.environmentAddonParameters?.file, 'copilot/environments/addons/addons.parameters.yml');
  for (const s of app.services) assert.is(s.addons.length, 1, `${s.name} has its IAM addon`);
});

test('every manifest and addon validates, base and every environment merged view', () => {
  const problems = validateCopilotApp(app);
  assert.equal(problems, [], render(problems));
  // And explicitly, view by view, against the schemas alone.
  for (const s of app.services) {
    const kind = WORKLOAD_SCHEMAS[s.type ?? '']!;
    assert.equal(checkAgainstSchema(kind, s.manifest), [], `${s.name} base`);
    for (const env of ENVIRONMENTS) {
      const v = environmentView(app, s, env);
      assert.equal(checkAgainstSchema(kind, v.manifest), [], `${s.name} in ${env}`);
      assert.not.ok('environments' in v.manifest, 'the merged view has no overrides left');
      assert.not.ok(v.unresolved.includes('COPILOT_ENVIRONMENT_NAME'), 'Copilot names are resolved in a view');
    }
  }
  for (const e of app.environments) assert.equal(checkAgainstSchema('environment', e.manifest), [], e.name);
});

test('environments import the VPC from variables, serve HTTPS with an imported certificate, and log', () => {
  for (const e of app.environments) {
    const vpc = at(e.manifest, 'network', 'vpc') as Record<string, unknown>;
    assert.is(vpc.id, '${VPC_ID}', e.name);
    assert.not.ok('cidr' in vpc);
    assert.equal(at(vpc, 'subnets', 'public'), [{ id: '${PUBLIC_SUBNET_1}' }, { id: '${PUBLIC_SUBNET_2}' }]);
    assert.equal(at(vpc, 'subnets', 'private'), [{ id: '${PRIVATE_SUBNET_1}' }, { id: '${PRIVATE_SUBNET_2}' }]);
    assert.equal(at(e.manifest, 'http', 'public', 'certificates'), ['${ACM_CERT_ARN}']);
    assert.match(String(at(e.manifest, 'http', 'public', 'ssl_policy')), /^ELBSecurityPolicy-TLS13/);
    assert.is(at(e.manifest, 'observability', 'container_insights'), true);
    const flowLogs = at(vpc, 'flow_logs');
    if (e.name === 'production') assert.ok(flowLogs === true || typeof at(flowLogs, 'retention') === 'number', 'production has flow logs');
    else assert.is(flowLogs, undefined);
  }
});

test('api: HTTPS service on 8080 at /, /healthz checks, private tasks, scaling per environment, no exec in production', () => {
  const expected: Record<string, [number, number]> = { dev: [1, 2], staging: [2, 4], production: [2, 20] };
  for (const env of ENVIRONMENTS) {
    const m = view('api', env);
    assert.is(at(m, 'image', 'port'), 8080);
    assert.equal(at(m, 'image', 'build'), { dockerfile: 'Dockerfile', context: '.', target: 'api' });
    assert.is(at(m, 'http', 'path'), '/');
    assert.is(at(m, 'http', 'alias'), '${API_DOMAIN}');
    assert.equal(at(m, 'http', 'healthcheck'), { path: '/healthz', success_codes: '200', healthy_threshold: 2, unhealthy_threshold: 2, interval: '10s', timeout: '5s', grace_period: '30s' });
    const [min, max] = expected[env]!;
    assert.equal(at(m, 'count', 'range'), { min, max }, env);
    assert.is(at(m, 'count', 'cpu_percentage'), 60);
    assert.is(at(m, 'count', 'requests'), 1000);
    assert.is(at(m, 'network', 'vpc', 'placement'), 'private');
    assert.is(at(m, 'platform'), 'linux/x86_64');
    assert.equal(at(m, 'deployment'), { rolling: 'default', rollback_alarms: { cpu_utilization: 90 } });
    assert.is(at(m, 'variables', 'APP_PROFILE'), env, 'APP_PROFILE follows the environment');
    assert.equal(at(m, 'secrets', 'REDIS_URL'), { secretsmanager: `content-trends/${env}/redis-url` });
    assert.equal(at(m, 'variables', 'S3_TEMP_BUCKET'), { from_cfn: `content-trends-${env}-TempBucketName` });
  }
  for (const name of SERVICES) {
    assert.is(at(view(name, 'production'), 'exec'), false, `${name}: no ECS Exec in production`);
    assert.is(at(view(name, 'dev'), 'exec'), true, `${name}: ECS Exec in dev`);
  }
});

test('worker and reconciler: Backend Services without http or port; worker scratch space; one reconciler', () => {
  for (const name of ['worker', 'reconciler']) {
    for (const env of ENVIRONMENTS) {
      const m = view(name, env);
      assert.is(m.type, 'Backend Service');
      assert.not.ok('http' in m, `${name} has no http`);
      assert.not.ok('port' in (m.image as object), `${name} has no port`);
      assert.is(at(m, 'image', 'build', 'target'), name);
    }
  }
  for (const env of ENVIRONMENTS) {
    const w = view('worker', env);
    assert.equal(Object.keys(w.count as object).filter((k) => k !== 'cooldown').sort(), ['cpu_percentage', 'range']);
    assert.is(at(w, 'storage', 'readonly_fs'), false);
    assert.ok(Number(at(w, 'storage', 'ephemeral')) >= 50, 'ephemeral storage for temp video');
    assert.ok(Number(w.memory) > Number(view('api', env).memory), 'the worker has more memory than the api');
    assert.is(view('reconciler', env).count, 1);
  }
  // The queue-depth policy is the reconciler's: the manifest says so where a reader looks for it.
  assert.match(readFileSync(`${ROOT}copilot/worker/manifest.yml`, 'utf8'), /queue depth[\s\S]*reconciler/i);
});

test('task ranges, scaling targets, sizes and exec agree with desired-state/<env>.yml', () => {
  for (const env of ENVIRONMENTS) {
    const desired = parseYaml(readFileSync(`${ROOT}desired-state/${env}.yml`, 'utf8')) as Record<string, unknown>;
    const services = at(desired, 'spec', 'ecs', 'services') as Record<string, Record<string, unknown>>;
    for (const name of ['api', 'worker']) {
      const m = view(name, env);
      const scaling = services[name]!.autoscaling as Record<string, number>;
      assert.equal(at(m, 'count', 'range'), { min: scaling.min, max: scaling.max }, `${name} ${env} range`);
      assert.is(at(m, 'count', 'cpu_percentage'), scaling.targetCpuPercent, `${name} ${env} cpu target`);
      if (scaling.targetRequestsPerTarget !== undefined) assert.is(at(m, 'count', 'requests'), scaling.targetRequestsPerTarget);
      assert.equal(at(m, 'count', 'cooldown'), { in: `${scaling.scaleInCooldownSec}s`, out: `${scaling.scaleOutCooldownSec}s` });
    }
    for (const name of SERVICES) {
      const m = view(name, env);
      const td = services[name]!.taskDefinition as Record<string, number> | undefined;
      if (td) assert.equal([m.cpu, m.memory], [td.cpu, td.memory], `${name} ${env} task size`);
      const execDesired = services[name]!.enableExecuteCommand;
      if (typeof execDesired === 'boolean') assert.is(m.exec, execDesired, `${name} ${env} exec`);
    }
    assert.is(services.reconciler!.desiredCount, view('reconciler', env).count);
  }
});

test('every variable and secret name in the manifests is a property of schemas/runtime-config.schema.json', () => {
  const schema = JSON.parse(readFileSync(`${ROOT}schemas/runtime-config.schema.json`, 'utf8')) as { properties: Record<string, { 'x-secret'?: boolean }> };
  let checked = 0;
  for (const s of app.services) {
    const maps = [s.manifest, ...Object.values((s.manifest.environments ?? {}) as Record<string, Record<string, unknown>>)];
    for (const m of maps) {
      for (const name of Object.keys((m.variables ?? {}) as object)) {
        assert.ok(name in schema.properties, `${s.name}: variable ${name} is not in the runtime schema`);
        assert.is.not(name, 'APP_ROLE', 'APP_ROLE is set by the entry point');
        assert.is.not(schema.properties[name]!['x-secret'], true, `${s.name}: ${name} is a secret, not a variable`);
        checked++;
      }
      for (const name of Object.keys((m.secrets ?? {}) as object)) {
        assert.ok(name in schema.properties, `${s.name}: secret ${name} is not in the runtime schema`);
        assert.is(schema.properties[name]!['x-secret'], true, `${s.name}: ${name} is not marked x-secret`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 30, `checked ${checked} names`);
});

test('every ${VAR} the manifests need is documented in copilot/README.md', () => {
  const readme = readFileSync(`${ROOT}copilot/README.md`, 'utf8');
  const used = new Set<string>();
  for (const s of app.services) for (const v of referencedVariables(s.manifest)) used.add(v);
  for (const e of app.environments) for (const v of referencedVariables(e.manifest)) used.add(v);
  used.delete('COPILOT_APPLICATION_NAME');
  used.delete('COPILOT_ENVIRONMENT_NAME');
  assert.ok(used.size >= 10, [...used].join(','));
  for (const v of used) assert.match(readme, new RegExp(`^\\|[^\\n]*\`${v}\`[^\\n]*\\|`, 'm'), `${v} is documented in a table row`);
});

// ---------------------------------------------------------------------------------------------------------------
// Override and interpolation semantics

test('mergeEnvironment: maps merge field by field; lists, count and variable entries are replaced', () => {
  const base = {
    name: 'x',
    image: { build: { dockerfile: 'Dockerfile', target: 'a' }, port: 80 },
    count: { range: '1-2', cpu_percentage: 50, requests: 10 },
    variables: { A: '1', B: { from_cfn: 'export-b' } },
    network: { vpc: { placement: 'private', security_groups: ['sg-1', 'sg-2'] } },
    http: { path: '/', healthcheck: { path: '/h', interval: '10s' } },
    environments: {
      prod: {
        image: { location: 'repo/x:1' },
        count: { range: '2-9', memory_percentage: 70 },
        variables: { B: 'plain', C: '3' },
        network: { vpc: { security_groups: ['sg-9'] } },
        http: { healthcheck: { interval: '30s' } },
        exec: null,
      },
    },
  };
  const before = JSON.stringify(base);
  const m = mergeEnvironment(base, 'prod');
  assert.equal(m, {
    name: 'x',
    image: { location: 'repo/x:1', port: 80 },
    count: { range: '2-9', memory_percentage: 70 },
    variables: { A: '1', B: 'plain', C: '3' },
    network: { vpc: { placement: 'private', security_groups: ['sg-9'] } },
    http: { path: '/', healthcheck: { path: '/h', interval: '30s' } },
  });
  assert.is(JSON.stringify(base), before, 'the input is not modified');
  const { environments: _ignored, ...withoutOverrides } = base;
  assert.equal(mergeEnvironment(base, 'dev'), withoutOverrides, 'no override: the base');
});

test('interpolate: Copilot names and given variables are replaced, the rest stay ${NAME}', () => {
  const r = interpolate({ a: '${X}-${COPILOT_ENVIRONMENT_NAME}', b: ['${Y}'], c: 3, '${K}': 'v' }, { COPILOT_ENVIRONMENT_NAME: 'dev', X: 'x' });
  assert.equal(r.value, { a: 'x-dev', b: ['${Y}'], c: 3, '${K}': 'v' });
  assert.equal(r.unresolved, ['Y']);
  // With real values a placeholder's shape is checked: a bad VPC id is caught, a good one passes.
  const env = app.environments.find((e) => e.name === 'dev')!;
  const vars = { PUBLIC_SUBNET_1: 'subnet-0a000001', PUBLIC_SUBNET_2: 'subnet-0a000002', PRIVATE_SUBNET_1: 'subnet-0b000001', PRIVATE_SUBNET_2: 'subnet-0b000002', ACM_CERT_ARN: 'arn:aws:acm:eu-west-1:111111111111:certificate/ab-12' };
  assert.equal(checkAgainstSchema('environment', interpolate(env.manifest, { ...vars, VPC_ID: 'vpc-0123456789abcdef0' }).value), []);
  const bad = checkAgainstSchema('environment', interpolate(env.manifest, { ...vars, VPC_ID: 'my-vpc' }).value);
  assert.equal(bad, [{ path: ['network', 'vpc', 'id'], key: false, message: 'must be a VPC id (vpc-...)' }]);
  const withValues = validateCopilotApp(app, { variables: { ...vars, VPC_ID: 'vpc-0123456789abcdef0', API_DOMAIN: 'api.example.com', AUTH_JWKS_URL: 'http://idp.example.com/jwks' } });
  assert.ok(
    withValues.some((p) => /^copilot\/api\/manifest\.yml:\d+:\d+ \/variables\/AUTH_JWKS_URL$/.test(p.where) && p.message.startsWith('AUTH_JWKS_URL must match pattern "^https://"') && p.message.endsWith('(environments production, staging)')),
    render(withValues),
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Broken manifests: one rule each, at file:line:column and JSON path

const WEB = [
  'name: web',
  'type: Load Balanced Web Service',
  'image:',
  '  build: Dockerfile',
  '  port: 8080',
  'http:',
  "  path: '/'",
  '  healthcheck:',
  '    path: /healthz',
  '    healthy_threshold: 2',
  'count:',
  '  range: 1-4',
  '  cpu_percentage: 60',
  'deployment:',
  '  rolling: default',
  '',
].join('\n');

const JOBS = [
  'name: jobs',
  'type: Backend Service',
  'image:',
  '  build: Dockerfile',
  'count:',
  '  range: { min: 1, max: 4 }',
  '  cpu_percentage: 70',
  '',
].join('\n');

test('the inline baselines are valid', () => {
  const problems = validateInline({ 'copilot/web/manifest.yml': WEB, 'copilot/jobs/manifest.yml': JOBS });
  assert.equal(problems, [], render(problems));
});

test('broken: environment with vpc.id and vpc.cidr', () => {
  const env = ['name: dev', 'type: Environment', 'network:', '  vpc:', '    id: vpc-0123456789abcdef0', '    cidr: 10.0.0.0/16', '    subnets:', '      private: [{ id: subnet-0b000001 }, { id: subnet-0b000002 }]', ''].join('\n');
  const problems = validateInline({ 'copilot/environments/dev/manifest.yml': env });
  assert.equal(problems, [
    { where: `copilot/environments/dev/manifest.yml:${positionOf(env, 'cidr:')} /network/vpc/cidr`, message: '`id` imports an existing VPC and `cidr` configures a new one: they cannot be combined' },
  ], render(problems));
});

test('broken: count.range without a scaling metric', () => {
  const web = WEB.replace('  cpu_percentage: 60\n', '');
  const problems = validateInline({ 'copilot/web/manifest.yml': web });
  assert.equal(problems, [
    { where: `copilot/web/manifest.yml:${positionOf(web, 'range:')} /count/range`, message: '`range` needs at least one scaling metric (cpu_percentage, memory_percentage, requests or response_time)' },
  ], render(problems));
});

test('broken: requests on a Backend Service without http', () => {
  const jobs = JOBS.replace('  cpu_percentage: 70\n', '  cpu_percentage: 70\n  requests: 1000\n');
  const problems = validateInline({ 'copilot/jobs/manifest.yml': jobs });
  assert.equal(problems, [
    {
      where: `copilot/jobs/manifest.yml:${positionOf(jobs, 'requests: 1000', 'requests: '.length)} /count/requests`,
      message: '`requests` scales on ALB requests per task and needs `http` (a load balancer): without it only cpu_percentage and memory_percentage are available',
    },
  ], render(problems));
});

test('broken: cooldown without a metric', () => {
  const jobs = JOBS.replace('  range: { min: 1, max: 4 }\n  cpu_percentage: 70\n', '  cooldown: { in: 60s, out: 30s }\n');
  const problems = validateInline({ 'copilot/jobs/manifest.yml': jobs });
  assert.equal(problems, [
    { where: `copilot/jobs/manifest.yml:${positionOf(jobs, 'cooldown:')} /count/cooldown`, message: '`cooldown` without a scaling metric is an error: add cpu_percentage, memory_percentage, requests or response_time' },
  ], render(problems));
});

test('broken: image.build together with image.location', () => {
  const web = WEB.replace('  build: Dockerfile\n', '  build: Dockerfile\n  location: public.ecr.aws/demo/web:1\n');
  const problems = validateInline({ 'copilot/web/manifest.yml': web });
  assert.equal(problems, [
    { where: `copilot/web/manifest.yml:${positionOf(web, 'location:')} /image/location`, message: '`build` and `location` are mutually exclusive: build the image from a Dockerfile or pull an existing one, not both' },
  ], render(problems));
});

test('broken: healthy_threshold 11', () => {
  const web = WEB.replace('healthy_threshold: 2', 'healthy_threshold: 11');
  const problems = validateInline({ 'copilot/web/manifest.yml': web });
  assert.equal(problems, [
    { where: `copilot/web/manifest.yml:${positionOf(web, 'healthy_threshold: 11', 'healthy_threshold: '.length)} /http/healthcheck/healthy_threshold`, message: 'must be an integer from 2 to 10 (ALB healthy threshold count)' },
  ], render(problems));
});

test('broken: service name API--x', () => {
  const web = WEB.replace('name: web', 'name: API--x');
  const problems = validateInline({ 'copilot/web/manifest.yml': web });
  const where = `copilot/web/manifest.yml:${positionOf(web, 'API--x')} /name`;
  assert.equal(problems, [
    { where, message: 'must be `web`, the name of its directory copilot/web/' },
    { where, message: 'must be lowercase letters and digits with single hyphens, starting with a letter (Copilot name rule: no `--`, no trailing `-`)' },
  ], render(problems));
});

test('broken: deployment.rolling blue-green', () => {
  const web = WEB.replace('rolling: default', 'rolling: blue-green');
  const problems = validateInline({ 'copilot/web/manifest.yml': web });
  assert.equal(problems, [
    {
      where: `copilot/web/manifest.yml:${positionOf(web, 'blue-green')} /deployment/rolling`,
      message: 'must be `default` (min 100%, max 200%) or `recreate` (min 0%, max 100%): Copilot has no blue/green, the reconciler owns the ECS deployment strategy',
    },
  ], render(problems));
});

test('broken: workload addon without the Name parameter', () => {
  const addon = ['Parameters:', '  App: { Type: String }', '  Env: { Type: String }', 'Resources:', '  Policy:', '    Type: AWS::IAM::ManagedPolicy', '    Properties:', '      PolicyDocument: { Version: "2012-10-17", Statement: [] }', ''].join('\n');
  const problems = validateInline({ 'copilot/jobs/manifest.yml': JOBS, 'copilot/jobs/addons/policy.yml': addon });
  assert.equal(problems, [
    {
      where: `copilot/jobs/addons/policy.yml:${positionOf(addon, 'App:')} /Parameters`,
      message: 'a workload addon must declare the Parameter `Name`: Copilot passes App, Env and Name (Type: String) to every workload addon',
    },
  ], render(problems));
});

test('broken: an override is reported at its own line; a merged-view break names its environment', () => {
  const jobs = [
    JOBS.replace('name: jobs\n', 'name: jobs\n').trimEnd(),
    'http:',
    '  path: /jobs',
    'environments:',
    '  production:',
    '    http: false',
    '  staging:',
    '    count:',
    '      range: 1-9',
    '',
  ].join('\n').replace('  cpu_percentage: 70', '  cpu_percentage: 70\n  requests: 500');
  const problems = validateInline({ 'copilot/jobs/manifest.yml': jobs }, ['dev', 'production', 'staging']);
  assert.equal(problems, [
    {
      where: `copilot/jobs/manifest.yml:${positionOf(jobs, 'requests: 500', 'requests: '.length)} /count/requests`,
      message: '`requests` scales on ALB requests per task and needs `http` (a load balancer): without it only cpu_percentage and memory_percentage are available (environment production)',
    },
    {
      where: `copilot/jobs/manifest.yml:${positionOf(jobs, 'range: 1-9')} /environments/staging/count/range`,
      message: '`range` needs at least one scaling metric (cpu_percentage, memory_percentage, requests or response_time)',
    },
  ], render(problems));
});

test('broken: variables that are not runtime variables, secrets passed as variables, dev keys in production', () => {
  const jobs = [
    JOBS.trimEnd(),
    'variables:',
    '  APP_PROFILE: production',
    '  FOO_BAR: x',
    '  REDIS_URL: rediss://cache:6379',
    '  LOG_LEVEL: loud',
    'secrets:',
    '  AZURE_AI_API_KEY: { secretsmanager: demo/key }',
    '  QUEUE_NAME: { secretsmanager: demo/queue }',
    '',
  ].join('\n');
  const problems = validateInline({ 'copilot/jobs/manifest.yml': jobs });
  const f = 'copilot/jobs/manifest.yml';
  assert.equal(problems, [
    { where: `${f}:${positionOf(jobs, 'FOO_BAR')} /variables/FOO_BAR`, message: '`FOO_BAR` is not a runtime variable: schemas/runtime-config.schema.json has no property FOO_BAR' },
    { where: `${f}:${positionOf(jobs, 'REDIS_URL')} /variables/REDIS_URL`, message: 'REDIS_URL is a secret (x-secret in schemas/runtime-config.schema.json): set it under `secrets` from Secrets Manager, never as a plain variable' },
    { where: `${f}:${positionOf(jobs, 'loud')} /variables/LOG_LEVEL`, message: 'LOG_LEVEL must be equal to one of the allowed values: fatal, error, warn, info, debug, trace, silent' },
    { where: `${f}:${positionOf(jobs, 'AZURE_AI_API_KEY')} /secrets/AZURE_AI_API_KEY`, message: 'AZURE_AI_API_KEY is not allowed with APP_PROFILE production (schemas/runtime-config.schema.json: keys and connection strings are for dev only)' },
    { where: `${f}:${positionOf(jobs, 'QUEUE_NAME')} /secrets/QUEUE_NAME`, message: 'QUEUE_NAME is not a secret (no x-secret in schemas/runtime-config.schema.json): set it under `variables`' },
  ], render(problems));
});

test('broken: a role service misses the variables its role requires, and its port differs from API_PORT', () => {
  const api = WEB.replace('name: web', 'name: api').replace('port: 8080', 'port: 3000') + 'variables:\n  APP_PROFILE: dev\n';
  const problems = validateInline({ 'copilot/api/manifest.yml': api });
  const f = 'copilot/api/manifest.yml';
  const vars = `${f}:${positionOf(api, 'variables:')} /variables`;
  assert.equal(problems, [
    { where: `${f}:${positionOf(api, 'port: 3000', 'port: '.length)} /image/port`, message: 'image.port 3000 must equal API_PORT (8080): the load balancer forwards to image.port and the api listens on API_PORT' },
    { where: vars, message: 'AUTH_JWT_AUDIENCE is required by the api role (schemas/runtime-config.schema.json) but neither `variables` nor `secrets` sets it' },
    { where: vars, message: 'AUTH_JWT_ISSUER is required by the api role (schemas/runtime-config.schema.json) but neither `variables` nor `secrets` sets it' },
    { where: vars, message: 'one of AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY is required by the api role (schemas/runtime-config.schema.json)' },
    { where: vars, message: 'REDIS_URL is required by the api role (schemas/runtime-config.schema.json) but neither `variables` nor `secrets` sets it' },
    { where: vars, message: 'S3_TEMP_BUCKET is required by the api role (schemas/runtime-config.schema.json) but neither `variables` nor `secrets` sets it' },
  ], render(problems));
});

test('broken: Fargate size, min above max, unknown field, duplicate key, unknown environment', () => {
  const jobs = [
    'name: jobs',
    'type: Backend Service',
    'image:',
    '  build: Dockerfile',
    'cpu: 1024',
    'memory: 512',
    'count:',
    '  range: 5-2',
    '  cpu_percentage: 70',
    'healthchek: /healthz',
    'environments:',
    '  prod:',
    '    cpu: 256',
    'memory: 1024',
    '',
  ].join('\n');
  const problems = validateInline({ 'copilot/jobs/manifest.yml': jobs });
  const f = 'copilot/jobs/manifest.yml';
  assert.equal(problems, [
    { where: `${f}:${positionOf(jobs, '512')} /memory`, message: 'with cpu 1024 (1 vCPU) Fargate accepts memory 2048-8192 MiB in steps of 1024' },
    { where: `${f}:${positionOf(jobs, '5-2')} /count/range`, message: 'min 5 is above max 2' },
    { where: `${f}:${positionOf(jobs, 'healthchek')} /healthchek`, message: 'unknown field `healthchek`' },
    { where: `${f}:${positionOf(jobs, 'prod:')} /environments/prod`, message: 'no environment `prod`: copilot/environments/ has dev' },
    { where: `${f}:${positionOf(jobs, 'memory', 0, 1)} /memory`, message: 'duplicate key `memory` (first at line 6); a key may appear once per mapping' },
  ], render(problems));
});

test.run();
