import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { loadConfig, redactedConfig } from '../../services/platform/config.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { problems } from '../support/problems.ts';
import { DEFAULT_RESOURCE_BACKOFF, ResourceBackoff, backoffOptionsFromConfig } from '../../controller/resource-backoff.ts';


test('outside dev the api and the reconciler need the keyframes account URL (erasure, container management)', () => {
  const prod = { APP_PROFILE: 'production', REDIS_URL: 'rediss://cache:6379', DESIRED_STATE_FILE: 'd.yml' };
  assert.equal(problems(() => loadConfig('reconciler', prod)), ['AZURE_STORAGE_ACCOUNT_URL: is required for the reconciler role when APP_PROFILE is staging or production']);
  const api = { ...prod, S3_TEMP_BUCKET: 'temp-bucket', AUTH_JWT_ISSUER: 'https://idp', AUTH_JWT_AUDIENCE: 'a', AUTH_JWKS_URL: 'https://idp/jwks' };
  assert.equal(problems(() => loadConfig('api', api)), ['AZURE_STORAGE_ACCOUNT_URL: is required for the api role when APP_PROFILE is staging or production']);
  assert.is(loadConfig('api', { ...api, AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net' }).APP_ROLE, 'api');
  assert.is(loadConfig('reconciler', { ...prod, APP_PROFILE: 'dev', REDIS_URL: 'redis://127.0.0.1:6379' }).APP_ROLE, 'reconciler');
});

test('reconciler defaults apply and numbers are coerced', () => {
  const c = loadConfig('reconciler', { REDIS_URL: 'redis://127.0.0.1:6379', DESIRED_STATE_FILE: 'd.yml', RECONCILE_INTERVAL_MS: '5000' });
  assert.is(c.APP_PROFILE, 'dev');
  assert.is(c.RECONCILE_INTERVAL_MS, 5000);
  assert.is(c.RECONCILER_PORT, 9090);
});

test('CLOUDWATCH_ENDPOINT: any URI in dev, https only outside dev; the queue metric is published by default', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379', DESIRED_STATE_FILE: 'd.yml' };
  const dev = loadConfig('reconciler', { ...base, CLOUDWATCH_ENDPOINT: 'http://127.0.0.1:4566' });
  assert.is(dev.CLOUDWATCH_ENDPOINT, 'http://127.0.0.1:4566');
  assert.is(dev.RECONCILE_PUBLISH_QUEUE_METRIC, true);
  assert.is(loadConfig('reconciler', { ...base, RECONCILE_PUBLISH_QUEUE_METRIC: 'false' }).RECONCILE_PUBLISH_QUEUE_METRIC, false);
  const prod = { ...base, APP_PROFILE: 'production', REDIS_URL: 'rediss://cache:6379', AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net' };
  assert.equal(problems(() => loadConfig('reconciler', { ...prod, CLOUDWATCH_ENDPOINT: 'http://monitoring.local' })), ['CLOUDWATCH_ENDPOINT: must match pattern "^https://"']);
  assert.is(loadConfig('reconciler', { ...prod, CLOUDWATCH_ENDPOINT: 'https://monitoring.eu-west-1.amazonaws.com' }).CLOUDWATCH_ENDPOINT, 'https://monitoring.eu-west-1.amazonaws.com');
});

test('per-resource back-off: defaults are ResourceBackoff\'s, set values drive its delays, bad values are named', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379', DESIRED_STATE_FILE: 'd.yml' };
  const defaults = loadConfig('reconciler', base);
  assert.equal(backoffOptionsFromConfig(defaults), { baseMs: DEFAULT_RESOURCE_BACKOFF.baseMs, capMs: DEFAULT_RESOURCE_BACKOFF.capMs });
  assert.equal([defaults.RECONCILE_BACKOFF_BASE_MS, defaults.RECONCILE_BACKOFF_CAP_MS], [30_000, 900_000]);

  const set = loadConfig('reconciler', { ...base, RECONCILE_BACKOFF_BASE_MS: '2000', RECONCILE_BACKOFF_CAP_MS: '5000' });
  const b = new ResourceBackoff({ ...backoffOptionsFromConfig(set), random: () => 0.5 });
  assert.equal([1, 2, 3, 4].map(() => b.failure('ecs-service/api', 0, 'boom')), [2_000, 4_000, 5_000, 5_000]);

  assert.equal(problems(() => loadConfig('reconciler', { ...base, RECONCILE_BACKOFF_BASE_MS: '5ms' })), ['RECONCILE_BACKOFF_BASE_MS: must be integer']);
  assert.equal(problems(() => loadConfig('reconciler', { ...base, RECONCILE_BACKOFF_BASE_MS: '5' })), ['RECONCILE_BACKOFF_BASE_MS: must be >= 1000']);
  assert.equal(problems(() => loadConfig('reconciler', { ...base, RECONCILE_BACKOFF_CAP_MS: '7200000' })), ['RECONCILE_BACKOFF_CAP_MS: must be <= 3600000']);
  assert.equal(problems(() => loadConfig('reconciler', { ...base, RECONCILE_BACKOFF_CAP_MS: '10000' })), ['RECONCILE_BACKOFF_CAP_MS: must be >= RECONCILE_BACKOFF_BASE_MS (30000), got 10000']);
});

test('every problem is listed, each naming its variable', () => {
  const p = problems(() => loadConfig('api', { API_PORT: 'eighty', LOG_LEVEL: 'loud' }));
  assert.ok(p.includes('REDIS_URL: is required for the api role'), p.join('\n'));
  assert.ok(p.includes('S3_TEMP_BUCKET: is required for the api role'));
  assert.ok(p.includes('AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY: one of them is required for the api role'));
  assert.ok(p.some((l) => l.startsWith('API_PORT: must be integer')));
  assert.ok(p.includes('LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'), p.join('\n'));
});

test('production demands TLS and refuses keys, without printing the secret', () => {
  const secret = 'sk-very-secret-value';
  let rendered = '';
  try {
    loadConfig('worker', {
      APP_PROFILE: 'production', REDIS_URL: 'redis://cache:6379', S3_TEMP_BUCKET: 'tmp-bucket', DESIRED_STATE_FILE: 'p.yml',
      AZURE_STORAGE_CONNECTION_STRING: secret, AI_AUTH: 'key', AZURE_AI_API_KEY: secret,
    });
  } catch (e) {
    rendered = (e as ValidationError).render();
  }
  assert.match(rendered, /REDIS_URL: must match pattern "\^rediss:\/\/"/);
  assert.match(rendered, /AZURE_AI_API_KEY: is not allowed outside the dev profile/);
  assert.match(rendered, /AZURE_STORAGE_CONNECTION_STRING: is not allowed outside the dev profile/);
  assert.match(rendered, /AI_AUTH: must be one of managed-identity, workload-identity/);
  assert.not.match(rendered, new RegExp(secret));
});

test('redactedConfig hides secrets', () => {
  const c = loadConfig('reconciler', { REDIS_URL: 'redis://:pw@127.0.0.1:6379', DESIRED_STATE_FILE: 'd.yml' });
  const r = redactedConfig(c);
  assert.is(r.REDIS_URL, '[redacted]');
  assert.is(r.interpolationEnv, undefined);
});

test('numbers are decimal and finite: Infinity, hex, binary and overflowing exponents are refused, naming the variable', () => {
  const worker = { REDIS_URL: 'redis://127.0.0.1:6379', S3_TEMP_BUCKET: 'tmp-bucket', DESIRED_STATE_FILE: 'd.yml', AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', AI_AUTH: 'key', AZURE_AI_API_KEY: 'k' };
  for (const [name, value, type] of [['AI_TIMEOUT_MS', 'Infinity', 'integer'], ['AI_DAILY_BUDGET_USD', '-Infinity', 'number'], ['AI_TIMEOUT_MS', '0x1000', 'integer'], ['WORKER_CONCURRENCY', '0b11', 'integer'], ['AI_DAILY_BUDGET_USD', '1e400', 'number'], ['API_PORT', ' NaN', 'integer']] as const) {
    assert.equal(problems(() => loadConfig('worker', { ...worker, [name]: value })), [`${name}: must be ${type}`], `${name}=${value}`);
  }
  const ok = loadConfig('worker', { ...worker, AI_TIMEOUT_MS: '9e4', AI_DAILY_BUDGET_USD: '2.50' });
  assert.equal([ok.AI_TIMEOUT_MS, ok.AI_DAILY_BUDGET_USD], [90_000, 2.5]);
  assert.ok(problems(() => loadConfig('worker', { ...worker, AI_TIMEOUT_MS: '6e5.5' })).length === 1);
});

test('a conditional requirement says its condition; none is reported for a condition that is itself refused', () => {
  const prod = { APP_PROFILE: 'production', REDIS_URL: 'rediss://cache:6379', S3_TEMP_BUCKET: 'tmp-bucket', DESIRED_STATE_FILE: 'd.yml', AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net' };
  assert.equal(problems(() => loadConfig('worker', { ...prod, AI_AUTH: 'workload-identity' })), [
    'AZURE_TENANT_ID: is required when AI_AUTH is workload-identity',
    'AZURE_CLIENT_ID: is required when AI_AUTH is workload-identity',
    'AZURE_FEDERATED_TOKEN_FILE: is required when AI_AUTH is workload-identity',
  ]);
  assert.equal(problems(() => loadConfig('worker', { ...prod, AI_AUTH: 'key' })), ['AI_AUTH: must be one of managed-identity, workload-identity, aws-web-identity']);
  assert.equal(problems(() => loadConfig('worker', { ...prod, AI_API_VERSION: '2024-05-01-preview' })), ['AI_API_VERSION: must be 2025-04-01']);
});

test('redactedConfig strips credentials from every URL: userinfo and query strings', () => {
  const c = loadConfig('worker', {
    REDIS_URL: 'redis://127.0.0.1:6379', S3_TEMP_BUCKET: 'tmp-bucket', DESIRED_STATE_FILE: 'd.yml', AI_AUTH: 'key', AZURE_AI_API_KEY: 'k',
    AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net/?sv=2024&sig=SASSIGSECRET',
    AI_FOUNDRY_ENDPOINT: 'https://admin:FOUNDRYPASS@res.services.ai.azure.com/models?api-key=QUERYKEY',
    S3_ENDPOINT: 'http://user:S3PASS@127.0.0.1:4569',
  });
  const r = redactedConfig(c);
  assert.equal([r.AZURE_STORAGE_ACCOUNT_URL, r.AI_FOUNDRY_ENDPOINT, r.S3_ENDPOINT], [
    'https://acct.blob.core.windows.net/?[redacted]',
    'https://[redacted]@res.services.ai.azure.com/models?[redacted]',
    'http://[redacted]@127.0.0.1:4569/',
  ]);
  assert.not.match(JSON.stringify(r), /SECRET|PASS|QUERYKEY/);
  assert.is(r.S3_TEMP_BUCKET, 'tmp-bucket', 'other values unchanged');
});

test('an entry point exits 78 with one message listing every problem, no stack trace', () => {
  const script = "import { loadConfigOrExit } from './services/platform/config.ts'; loadConfigOrExit('api');";
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '', REDIS_URL: 'nope', AZURE_AI_API_KEY: 'do-not-print-me' },
    encoding: 'utf8',
  });
  assert.is(r.status, 78, r.stderr);
  assert.match(r.stderr, /^invalid configuration for the api role \(\d+ problems\):/);
  assert.match(r.stderr, /REDIS_URL: must match pattern/);
  assert.not.match(r.stderr, /at loadConfig|\.ts:\d+/);
  assert.not.match(r.stderr, /do-not-print-me/);
});

test.run();
