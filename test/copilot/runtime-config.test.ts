/**
 * The runtime configuration each Copilot service gets in each environment, as Copilot deploys it: the manifest's
 * `environments.<env>` override merged over the base (services/platform/copilot/merge.ts, Copilot's semantics),
 * `${COPILOT_*}` interpolated, and every value known only at deploy time (`${VAR}`, `from_cfn`, secrets) replaced by
 * a placeholder of the right shape for the runtime variable it fills (https URLs, rediss:// for REDIS_URL, ...),
 * plus what ECS sets itself (AWS_REGION). That environment then goes through the code the process runs at start-up:
 * - loadConfig (schemas/runtime-config.schema.json) for the service's role and the profile the manifest sets;
 * - on ECS Fargate: the Azure credential (createModelCredentialFromConfig; there is no managed identity on
 *   Fargate) and the keyframes Blob client the process's job needs (createStorageClients: the api erases
 *   keyframes, the worker writes them, the reconciler manages the container its desired state declares);
 * - the task role may get the web identity tokens the credential asks for (the addon's IAM policy), and only then;
 * - no manifest names a variable the runtime schema does not know (a typo is silently ignored by loadConfig).
 * Nothing here sends a request.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { environmentView, loadCopilotApp, type CopilotApp, type CopilotService } from '../../services/platform/copilot-manifests.ts';
import { hasPlaceholder } from '../../services/platform/copilot/interpolation.ts';
import { isPlainObject, type PlainObject } from '../../services/platform/copilot/merge.ts';
import { runtimeSchema } from '../../services/platform/copilot/runtime-variables.ts';
import { loadConfig, type Config, type Role } from '../../services/platform/config.ts';
import { loadDesiredState } from '../../services/platform/desired-state.ts';
import { errorMessage, ValidationError } from '../../services/platform/errors.ts';
import { createModelCredentialFromConfig } from '../../services/platform/model-credentials.ts';
import { createStorageClients } from '../../controller/storage-clients.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const app: CopilotApp = loadCopilotApp(ROOT);
const ENVIRONMENTS = app.environments.map((e) => e.name);
const ROLES: readonly Role[] = ['api', 'worker', 'reconciler'];
const ACCOUNT_ID = '123456789012';
const REGION = 'eu-west-1';

/**
 * Set by ECS in every task's containers ("Amazon ECS environment variables",
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-environment-variables.html).
 */
const SET_BY_ECS: Readonly<Record<string, string>> = { AWS_REGION: REGION };

/** A value of the right shape for runtime variable `name` in environment `env`, or undefined when none is known. */
function placeholder(name: string, env: string): string | undefined {
  const values: Record<string, string> = {
    // environments/addons/redis.yml writes rediss://:<auth token>@<primary endpoint>:6379
    REDIS_URL: `rediss://:placeholder-auth-token@master.${app.application}-${env}.abc123.euw1.cache.amazonaws.com:6379`,
    // environments/addons/temp-bucket.yml: ${App}-${Env}-temp-${AWS::AccountId}-${AWS::Region}
    S3_TEMP_BUCKET: `${app.application}-${env}-temp-${ACCOUNT_ID}-${REGION}`,
    ECS_CLUSTER: `${app.application}-${env}-Cluster-AbCdEf012345`,
    AZURE_STORAGE_ACCOUNT_URL: 'https://contenttrendskeyframes.blob.core.windows.net',
    AZURE_TENANT_ID: '11111111-2222-4333-8444-555555555555',
    AZURE_CLIENT_ID: '66666666-7777-4888-9999-000000000000',
    AUTH_JWT_ISSUER: 'https://idp.example.com/',
    AUTH_JWT_AUDIENCE: 'content-trends-api',
    AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
    AZURE_AI_API_KEY: 'placeholder-model-key',
    AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=contenttrendskeyframes;AccountKey=cGxhY2Vob2xkZXI=;EndpointSuffix=core.windows.net',
  };
  return values[name];
}

function serviceNamed(name: string): CopilotService {
  const s = app.services.find((x) => x.name === name);
  if (!s) throw new Error(`no copilot/${name}/manifest.yml`);
  return s;
}

function roleOf(service: CopilotService): Role {
  const role = ROLES.find((r) => r === service.name);
  if (!role) throw new Error(`copilot/${service.name}: not a runtime role (${ROLES.join(', ')})`);
  return role;
}

/**
 * The container environment of `service` in `env`: literal variables as written, everything Copilot fills in at
 * deploy time as a placeholder, plus what ECS sets.
 * @throws Error naming the variable when a deploy-time value has no placeholder here (add one of its shape).
 */
function containerEnvironment(service: CopilotService, env: string): Record<string, string> {
  const { manifest } = environmentView(app, service, env);
  const out: Record<string, string> = { ...SET_BY_ECS };
  for (const section of ['variables', 'secrets'] as const) {
    const entries = manifest[section];
    if (!isPlainObject(entries)) continue;
    for (const [name, value] of Object.entries(entries)) {
      const literal = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
      if (section === 'variables' && typeof literal === 'string' && !hasPlaceholder(literal)) {
        out[name] = literal;
        continue;
      }
      const p = placeholder(name, env);
      if (p === undefined) throw new Error(`copilot/${service.name}/manifest.yml ${section}.${name} (${env}) is set at deploy time and this test has no placeholder of its shape`);
      out[name] = p;
    }
  }
  return out;
}

/** loadConfig's problems as one line per problem, or the config. */
function configOf(service: CopilotService, env: string): { config?: Config; problems: string[] } {
  try {
    return { config: loadConfig(roleOf(service), containerEnvironment(service, env)), problems: [] };
  } catch (err) {
    if (err instanceof ValidationError) return { problems: err.problems.map((p) => `${p.where}: ${p.message}`) };
    throw err;
  }
}

/**
 * Why the keyframes Blob container matters to `role`, or undefined when it does not. The reconciler's answer comes
 * from its desired state (DESIRED_STATE_FILE, baked into the image under WORKDIR /app: the repository root here).
 */
async function keyframesNeed(role: Role, config: Config): Promise<string | undefined> {
  if (role === 'api') return 'DELETE /v1/analyses/{id} deletes keyframe blobs (services/api/main.ts answers 503 erasure_unavailable without them)';
  if (role === 'worker') return 'the worker stores keyframes';
  const file = config.DESIRED_STATE_FILE ?? '';
  if (!file.startsWith('/app/')) throw new Error(`DESIRED_STATE_FILE ${file} is not under the image's WORKDIR /app`);
  const desired = await loadDesiredState(join(ROOT, file.slice('/app/'.length)), config.interpolationEnv);
  const container = desired.spec.storage?.keyframes?.container;
  return container === undefined ? undefined : `${file} declares spec.storage.keyframes (container ${container})`;
}

/**
 * What keeps the process of `role` from doing its job on ECS Fargate with `config` (empty when nothing): the
 * credential it builds from AI_AUTH, and the keyframes Blob client when its job needs one.
 */
async function fargateProblems(role: Role, config: Config): Promise<string[]> {
  const problems: string[] = [];
  if (config.AI_AUTH === 'managed-identity') {
    problems.push('AI_AUTH is managed-identity (the default when unset), but ECS Fargate has no managed identity: use aws-web-identity');
  }
  try {
    createModelCredentialFromConfig(config);
  } catch (err) {
    problems.push(`the Azure credential cannot be built: ${err instanceof ValidationError ? err.render() : errorMessage(err)}`);
  }
  const need = await keyframesNeed(role, config);
  if (need !== undefined) {
    try {
      const storage = await createStorageClients(config);
      storage.destroy();
      if (!storage.blob) problems.push(`no keyframes Blob client (neither AZURE_STORAGE_ACCOUNT_URL nor AZURE_STORAGE_CONNECTION_STRING), but ${need}`);
    } catch (err) {
      problems.push(`the keyframes Blob client cannot be built (${need}): ${err instanceof ValidationError ? err.render() : errorMessage(err)}`);
    }
  }
  return problems;
}

/** Every problem of `service` in every environment, as `copilot/<svc> (<env>): <problem>`. */
async function allProblems(service: CopilotService): Promise<string[]> {
  const out: string[] = [];
  for (const env of ENVIRONMENTS) {
    const { config, problems } = configOf(service, env);
    const at = `copilot/${service.name} (${env})`;
    out.push(...problems.map((p) => `${at}: ${p}`));
    if (config) out.push(...(await fargateProblems(roleOf(service), config)).map((p) => `${at}: ${p}`));
  }
  return out;
}

/** `service` with `names` removed from its base `variables` (what the api and reconciler manifests lacked). */
function withoutVariables(service: CopilotService, names: readonly string[]): CopilotService {
  const manifest: PlainObject = structuredClone(service.manifest);
  const variables = manifest.variables;
  if (isPlainObject(variables)) for (const n of names) delete variables[n];
  return { ...service, manifest };
}

test('the workspace has the three services and three environments this test resolves', () => {
  assert.equal(app.services.map((s) => s.name).sort(), ['api', 'reconciler', 'worker']);
  assert.equal([...ENVIRONMENTS].sort(), ['dev', 'production', 'staging']);
});

test('every service passes the runtime-config validation of its role in every environment, with the profile of that environment', () => {
  const failures: string[] = [];
  let checked = 0;
  for (const service of app.services) {
    for (const env of ENVIRONMENTS) {
      const { config, problems } = configOf(service, env);
      failures.push(...problems.map((p) => `copilot/${service.name} (${env}): ${p}`));
      if (!config) continue;
      checked++;
      assert.is(config.APP_ROLE, roleOf(service));
      assert.is(config.APP_PROFILE, env, `copilot/${service.name} runs the ${env} profile in ${env}`);
    }
  }
  assert.equal(failures, [], failures.join('\n'));
  assert.is(checked, app.services.length * ENVIRONMENTS.length);
});

test('on Fargate every service has an Azure identity it can use and the keyframes storage its job needs, in every environment', async () => {
  const problems: string[] = [];
  for (const service of app.services) problems.push(...(await allProblems(service)));
  assert.equal(problems, [], problems.join('\n'));
});

test('the checks catch what the api and reconciler manifests once lacked (no account URL, no AI_AUTH, no Entra ids)', async () => {
  const lacked = ['AZURE_STORAGE_ACCOUNT_URL', 'AI_AUTH', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID'];
  const api = await allProblems(withoutVariables(serviceNamed('api'), lacked));
  assert.ok(api.some((p) => p.startsWith('copilot/api (dev): no keyframes Blob client') && p.includes('erasure_unavailable')), api.join('\n'));
  assert.ok(api.includes('copilot/api (production): AZURE_STORAGE_ACCOUNT_URL: is required for the api role when APP_PROFILE is staging or production'), api.join('\n'));
  assert.ok(api.some((p) => p.startsWith('copilot/api (dev): AI_AUTH is managed-identity')), api.join('\n'));
  const reconciler = await allProblems(withoutVariables(serviceNamed('reconciler'), lacked));
  assert.ok(reconciler.some((p) => p.startsWith('copilot/reconciler (dev): AI_AUTH is managed-identity')), reconciler.join('\n'));
  assert.ok(reconciler.some((p) => p.startsWith('copilot/reconciler (dev): no keyframes Blob client') && p.includes('spec.storage.keyframes')), reconciler.join('\n'));
  assert.ok(reconciler.includes('copilot/reconciler (production): AZURE_STORAGE_ACCOUNT_URL: is required for the reconciler role when APP_PROFILE is staging or production'), reconciler.join('\n'));
  const noTenant = await allProblems(withoutVariables(serviceNamed('worker'), ['AZURE_TENANT_ID']));
  assert.ok(noTenant.some((p) => p.startsWith('copilot/worker (production): AZURE_TENANT_ID: is required')), noTenant.join('\n'));
});

interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
  Condition?: unknown;
}

/** The statements of every AWS::IAM::ManagedPolicy in the service's addons (Copilot attaches them to its task role). */
function taskRoleStatements(service: CopilotService): Statement[] {
  const out: Statement[] = [];
  for (const addon of service.addons) {
    const resources = isPlainObject(addon.value) ? addon.value.Resources : undefined;
    if (!isPlainObject(resources)) continue;
    for (const r of Object.values(resources)) {
      if (!isPlainObject(r) || r.Type !== 'AWS::IAM::ManagedPolicy' || !isPlainObject(r.Properties)) continue;
      const doc = r.Properties.PolicyDocument;
      const statements = isPlainObject(doc) ? doc.Statement : undefined;
      if (Array.isArray(statements)) for (const s of statements) if (isPlainObject(s)) out.push(s);
    }
  }
  return out;
}

const grantsWebIdentityToken = (s: Statement): boolean => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes('sts:GetWebIdentityToken');

test('a service that federates to Entra may get web identity tokens for exactly the audience it asks for; the others may not', () => {
  const worker = taskRoleStatements(serviceNamed('worker')).filter(grantsWebIdentityToken);
  assert.is(worker.length, 1, 'the worker grant is the reference');
  let federating = 0;
  for (const service of app.services) {
    const configs = ENVIRONMENTS.map((env) => configOf(service, env).config).filter((c): c is Config => c !== undefined);
    const audiences = new Set(configs.filter((c) => c.AI_AUTH === 'aws-web-identity').map((c) => c.AWS_WEB_IDENTITY_AUDIENCE));
    const grants = taskRoleStatements(service).filter(grantsWebIdentityToken);
    if (audiences.size === 0) {
      assert.is(grants.length, 0, `copilot/${service.name} does not use aws-web-identity, so its task role gets no web identity tokens`);
      continue;
    }
    federating++;
    assert.is(audiences.size, 1, `copilot/${service.name}: one audience in every environment`);
    const [audience] = [...audiences];
    assert.is(grants.length, 1, `copilot/${service.name}: one sts:GetWebIdentityToken statement in its addons`);
    const g = grants[0]!;
    assert.equal([g.Effect, g.Action, g.Resource], ['Allow', 'sts:GetWebIdentityToken', '*'], `copilot/${service.name}: GetWebIdentityToken alone (it has no resource type)`);
    assert.equal(g.Condition, { 'ForAnyValue:StringEquals': { 'sts:IdentityTokenAudience': audience } }, `copilot/${service.name}: tokens for ${audience} only`);
    assert.equal(g.Condition, worker[0]!.Condition, `copilot/${service.name}: the same condition as the worker's`);
  }
  assert.is(federating, 3, 'api, worker and reconciler all federate');
});

/** `section.NAME` of every variable and secret, base and every override, that the runtime schema does not define. */
function unknownNames(service: CopilotService): string[] {
  const known = new Set(Object.keys(runtimeSchema().schema.properties).filter((n) => n !== 'APP_ROLE'));
  const out: string[] = [];
  const overrides = isPlainObject(service.manifest.environments) ? service.manifest.environments : {};
  const parts: Array<[string, unknown]> = [['', service.manifest], ...Object.entries(overrides).map(([env, o]): [string, unknown] => [`environments.${env}.`, o])];
  for (const [prefix, part] of parts) {
    if (!isPlainObject(part)) continue;
    for (const section of ['variables', 'secrets'] as const) {
      const entries = part[section];
      if (!isPlainObject(entries)) continue;
      for (const name of Object.keys(entries)) if (!known.has(name)) out.push(`${prefix}${section}.${name}`);
    }
  }
  return out;
}

test('no manifest sets a variable or secret the runtime config schema does not know (loadConfig would ignore a typo)', () => {
  let names = 0;
  for (const service of app.services) {
    assert.equal(unknownNames(service), [], `copilot/${service.name}/manifest.yml`);
    for (const env of ENVIRONMENTS) names += Object.keys(containerEnvironment(service, env)).length;
  }
  assert.ok(names >= 60, `looked at ${names} names`);
  const api = serviceNamed('api');
  const typo: CopilotService = { ...api, manifest: { ...structuredClone(api.manifest), environments: { production: { variables: { AZURE_STORAGE_ACOUNT_URL: 'https://x.blob.core.windows.net' } } } } };
  assert.equal(unknownNames(typo), ['environments.production.variables.AZURE_STORAGE_ACOUNT_URL']);
});

test.run();
