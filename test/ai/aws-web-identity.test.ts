/**
 * AI_AUTH=aws-web-identity end to end over HTTP: the real `@aws-sdk/client-sts` calls a local STS stand-in
 * (query protocol, `Action=GetWebIdentityToken`, SigV4-signed) that returns a JWT; the real
 * `ClientAssertionCredential` exchanges it at a fake Entra token endpoint; the Entra token then authenticates
 * calls to the AI emulator. Checks: the STS parameters (audience, RS256, duration), the assertion type, the JWT
 * cached until 60 s before its exp, the Entra token cached and refreshed before it expires, the config schema
 * (tenant and client id required in this mode; allowed in production), and no token or JWT in the log.
 *
 * Fakes follow test/ai/credentials.test.ts: an https authority host rewritten to the local http fake by a custom
 * httpClient, instance discovery off (reference/standin-pitfalls.md §4).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTokenCredential, type TokenCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { createModelCredentialFromConfig, type CredentialConfig } from '../../services/platform/model-credentials.ts';
import { loadConfig } from '../../services/platform/config.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, capturedLogger, deployment } from './support/ai-harness.ts';
import { FAKE_AUTHORITY_HOST, startStsEntraFakes, unsignedJwt, type StsEntraFakes } from '../support/sts-entra-fakes.ts';

const TENANT = '00000000-0000-0000-0000-0000000000cc';
const CLIENT = '00000000-0000-0000-0000-0000000000dd';
const ENTRA_TOKEN_PREFIX = 'entra-token-S3CR3T-';

let fakes: StsEntraFakes;
let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;

/** The credential built from configuration as a worker would, pointed at the stand-ins. */
function credential(over: Partial<CredentialConfig> = {}): TokenCredential {
  const c = createModelCredentialFromConfig(
    {
      AI_AUTH: 'aws-web-identity',
      APP_PROFILE: 'dev',
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_AUTHORITY_HOST: FAKE_AUTHORITY_HOST,
      AWS_REGION: 'eu-west-1',
      STS_ENDPOINT: fakes.url,
      AWS_WEB_IDENTITY_AUDIENCE: 'api://AzureADTokenExchange',
      AWS_WEB_IDENTITY_TOKEN_DURATION_SEC: 300,
      ...over,
    },
    { sts: { credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-S3CR3T-secret' } }, identity: { disableInstanceDiscovery: true, httpClient: fakes.httpClient } },
  );
  if (!isTokenCredential(c)) throw new Error('expected a TokenCredential');
  return c;
}

test.before(async () => {
  fakes = await startStsEntraFakes({ tenant: TENANT, roleArn: 'arn:aws:iam::123456789012:role/worker', tokenPrefix: ENTRA_TOKEN_PREFIX, extraClaims: { marker: 'S3CR3T-JWT' } });
  [stack, emu] = await Promise.all([startTestStack('ai-awswi'), startAiEmulator({ models: EMULATOR_MODELS, bearerTokens: Array.from({ length: 20 }, (_, i) => `${ENTRA_TOKEN_PREFIX}${i}`) })]);
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  await Promise.all([emu.close(), stack.close(), fakes.close()]);
});

const SCHEMA = { type: 'object', required: ['label'], properties: { label: { type: 'string' } } };
const ask = (label: string) => ({ system: 'JSON only.', user: `Label ${label}`, schema: SCHEMA, schemaName: 'label', context: { tenantId: 'acme', analysisId: 'an-awswi' } });

test('the config schema: tenant and client id required for aws-web-identity; allowed in production with https endpoints', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379', S3_TEMP_BUCKET: 'tmp', DESIRED_STATE_FILE: 'd.yml', AI_AUTH: 'aws-web-identity' };
  let rendered = '';
  try {
    loadConfig('worker', base);
  } catch (e) {
    rendered = e instanceof ValidationError ? e.render() : String(e);
  }
  assert.match(rendered, /AZURE_TENANT_ID/);
  assert.match(rendered, /AZURE_CLIENT_ID/);
  const prod = loadConfig('worker', {
    ...base,
    APP_PROFILE: 'production',
    REDIS_URL: 'rediss://cache:6379',
    AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net',
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: CLIENT,
    STS_ENDPOINT: 'https://sts.eu-west-1.amazonaws.com',
  });
  assert.equal([prod.AI_AUTH, prod.AWS_WEB_IDENTITY_AUDIENCE, prod.AWS_WEB_IDENTITY_TOKEN_DURATION_SEC], ['aws-web-identity', 'api://AzureADTokenExchange', 300]);
  assert.throws(() => loadConfig('worker', { ...base, APP_PROFILE: 'production', REDIS_URL: 'rediss://cache:6379', AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net', AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, STS_ENDPOINT: 'http://sts.local' }), (e: unknown) => e instanceof ValidationError && /STS_ENDPOINT/.test(e.render()));
  const wi = (() => {
    try {
      loadConfig('worker', { ...base, AI_AUTH: 'workload-identity', AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT });
      return '';
    } catch (e) {
      return e instanceof ValidationError ? e.render() : String(e);
    }
  })();
  assert.match(wi, /AZURE_FEDERATED_TOKEN_FILE/, 'workload identity needs its token file');
  assert.throws(() => createModelCredentialFromConfig({ AI_AUTH: 'aws-web-identity', APP_PROFILE: 'production' }), (e: unknown) => e instanceof ValidationError && /AZURE_TENANT_ID: is required.*\n?.*AZURE_CLIENT_ID/s.test(e.render()));
});

test('STS JWT → Entra token → model calls: parameters, SigV4, assertion type, caching, and no token in the log', async () => {
  const { logger, text } = capturedLogger();
  const [sts0, entra0] = [fakes.stsCalls.length, fakes.entraCalls.length];
  const ai = createAiCoordinator({ models: [deployment(emu.endpoint, 'v3')], credential: credential(), redis, keyPrefix: `${stack.keyPrefix}:wi`, allowInsecureConnection: true, cacheTtlSec: 0, logger });
  await ai.generateJson(ask('first'));
  await ai.generateJson(ask('second'));
  assert.is(fakes.stsCalls.length - sts0, 1, 'one STS call for two model calls');
  assert.is(fakes.entraCalls.length - entra0, 1, 'one Entra exchange for two model calls');
  const sts = fakes.stsCalls[sts0]!;
  assert.equal(
    { audience: sts.get('Audience.member.1'), alg: sts.get('SigningAlgorithm'), duration: sts.get('DurationSeconds') },
    { audience: 'api://AzureADTokenExchange', alg: 'RS256', duration: '300' },
  );
  assert.match(fakes.stsAuth[sts0]!, /^AWS4-HMAC-SHA256 Credential=AKIDSTANDIN\/\d{8}\/eu-west-1\/sts\/aws4_request/, 'SigV4 for the regional STS');
  const entra = fakes.entraCalls[entra0]!;
  assert.is(entra.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  assert.is(entra.get('client_assertion'), fakes.issuedJwts[fakes.issuedJwts.length - 1]);
  assert.is(entra.get('client_id'), CLIENT);
  assert.match(entra.get('scope') ?? '', /https:\/\/cognitiveservices\.azure\.com\/\.default/);
  const calls = emu.calls.records.filter((r) => r.route === 'chat/completions' && r.status === 200);
  assert.ok(calls.length >= 2, 'the emulator accepted the Entra bearer token');
  assert.not.match(text(), /S3CR3T/, 'no JWT, token or AWS secret in the log');
  await ai.close();
});

test('refresh before expiry: an Entra token inside the renewal window is fetched again; the JWT is reused until 60 s before its exp', async () => {
  // MSAL renews a cached access token 5 minutes before it expires: a 299 s token is renewed on every request.
  fakes.entraExpiresInSec = 299;
  const c = credential();
  const [sts0, entra0] = [fakes.stsCalls.length, fakes.entraCalls.length];
  const t1 = await c.getToken('https://cognitiveservices.azure.com/.default');
  const t2 = await c.getToken('https://cognitiveservices.azure.com/.default');
  assert.ok(t1 && t2 && t1.token !== t2.token, 'a token about to expire is replaced, not reused');
  assert.ok(t2.expiresOnTimestamp > Date.now() + 290_000);
  assert.is(fakes.entraCalls.length - entra0, 2);
  assert.is(fakes.stsCalls.length - sts0, 1, 'the 300 s JWT is still valid beyond the 60 s margin: reused');
  // A 60 s JWT is inside the 60 s margin as soon as it is issued: every exchange asks STS again.
  fakes.entraExpiresInSec = 3600;
  const short = credential({ AWS_WEB_IDENTITY_TOKEN_DURATION_SEC: 60 });
  const [sts1, entra1] = [fakes.stsCalls.length, fakes.entraCalls.length];
  await short.getToken('https://cognitiveservices.azure.com/.default');
  const again = credential({ AWS_WEB_IDENTITY_TOKEN_DURATION_SEC: 60 });
  await again.getToken('https://cognitiveservices.azure.com/.default');
  const presented = fakes.entraCalls.slice(entra1).map((f) => f.get('client_assertion'));
  assert.is(presented.length, 2);
  assert.ok(presented[0] !== presented[1], 'each exchange presented a freshly issued JWT');
  assert.ok(fakes.stsCalls.length - sts1 >= 2);
  assert.is(fakes.stsCalls[fakes.stsCalls.length - 1]!.get('DurationSeconds'), '60');
  // Long-lived Entra token: cached by the credential, no new exchange.
  const e0 = fakes.entraCalls.length;
  await short.getToken('https://cognitiveservices.azure.com/.default');
  assert.is(fakes.entraCalls.length - e0, 0);
});

test('workload identity reads AZURE_FEDERATED_TOKEN_FILE and the ids from configuration', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ai-wi-'));
  try {
    const jwt = unsignedJwt({ iss: 'https://oidc.example', sub: 'system:serviceaccount:ct:worker', aud: 'api://AzureADTokenExchange', exp: Math.floor(Date.now() / 1000) + 3600 });
    fakes.issuedJwts.push(jwt);
    const file = join(dir, 'azure-identity-token');
    await writeFile(file, jwt);
    const c = createModelCredentialFromConfig(
      { AI_AUTH: 'workload-identity', APP_PROFILE: 'dev', AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_FEDERATED_TOKEN_FILE: file, AZURE_AUTHORITY_HOST: FAKE_AUTHORITY_HOST },
      { identity: { disableInstanceDiscovery: true, httpClient: fakes.httpClient } },
    );
    assert.ok(isTokenCredential(c));
    const e0 = fakes.entraCalls.length;
    const t = await (c as TokenCredential).getToken('https://cognitiveservices.azure.com/.default');
    assert.ok(t?.token.startsWith(ENTRA_TOKEN_PREFIX));
    assert.is(fakes.entraCalls.length - e0, 1);
    assert.is(fakes.entraCalls[e0]!.get('client_assertion'), jwt, 'the file JWT was presented');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
