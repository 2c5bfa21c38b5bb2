/**
 * Model credentials end to end over HTTP: a key (dev only), a ManagedIdentityCredential against a fake App Service
 * identity endpoint, and a ClientAssertionCredential fed by a token source (the AWS web-identity hook) against a
 * fake Entra token endpoint; each token then authenticates calls to the AI emulator. Also: no key, token or
 * assertion ever reaches the coordinator's log.
 *
 * Fakes follow reference/standin-pitfalls.md §4: IDENTITY_ENDPOINT/IDENTITY_HEADER for managed identity; for Entra
 * an https authority host rewritten to the local http fake by a custom httpClient, with instance discovery off.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureKeyCredential, isTokenCredential } from '@azure/core-auth';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { Redis } from 'ioredis';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { aiCoordinatorOptionsFromConfig } from '../../services/ai/options-from-config.ts';
import { cachedAssertion, createModelCredential, createModelCredentialFromConfig } from '../../services/platform/model-credentials.ts';
import { TerminalError, ValidationError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, capturedLogger, deployment, rejection } from './support/ai-harness.ts';

const API_KEY = 'dev-key-S3CR3T-0001';
const MI_TOKEN = 'mi-token-S3CR3T-0002';
const ENTRA_TOKEN = 'entra-token-S3CR3T-0003';
const IDENTITY_HEADER = 'identity-header-S3CR3T-0004';
const TENANT = '00000000-0000-0000-0000-0000000000aa';
const CLIENT = '00000000-0000-0000-0000-0000000000bb';

let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;
let fake: Server;
let fakeUrl: string;
const fakeRequests: Array<{ path: string; query: URLSearchParams; headers: Record<string, unknown>; form?: URLSearchParams }> = [];

function unsignedJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJl`;
}
const AWS_JWT = unsignedJwt({ iss: 'https://aws.example/outbound', sub: 'arn:aws:iam::123456789012:role/worker', aud: 'api://AzureADTokenExchange', exp: Math.floor(Date.now() / 1000) + 600, marker: 'S3CR3T-0005' });

/** One fake server for the managed-identity endpoint and the Entra authority. */
async function startIdentityFake(): Promise<void> {
  fake = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const entry = { path: url.pathname, query: url.searchParams, headers: req.headers as Record<string, unknown>, ...(raw ? { form: new URLSearchParams(raw) } : {}) };
      fakeRequests.push(entry);
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/msi/token') {
        if (req.headers['x-identity-header'] !== IDENTITY_HEADER) return json(401, { error: 'bad identity header' });
        return json(200, { access_token: MI_TOKEN, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: url.searchParams.get('resource'), token_type: 'Bearer' });
      }
      if (url.pathname === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
        const base = `https://login.fake.test/${TENANT}`;
        return json(200, {
          token_endpoint: `${base}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          issuer: `${base}/v2.0`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
        });
      }
      if (url.pathname === `/${TENANT}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(raw);
        if (form.get('client_assertion') !== AWS_JWT) return json(400, { error: 'invalid_client' });
        return json(200, { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: ENTRA_TOKEN });
      }
      json(404, { error: 'not found' });
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
}

test.before(async () => {
  await startIdentityFake();
  [stack, emu] = await Promise.all([
    startTestStack('ai-cred'),
    startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [API_KEY], bearerTokens: [MI_TOKEN, ENTRA_TOKEN] }),
  ]);
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  const fakeClosed = new Promise((r) => fake.close(r));
  fake.closeAllConnections(); // MSAL keeps its connections alive; close() alone would wait for them
  await Promise.all([emu.close(), stack.close(), fakeClosed]);
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
});

const SCHEMA = { type: 'object', required: ['label'], properties: { label: { type: 'string' } } };
const ask = (label: string, analysisId = 'an-cred') => ({ system: 'JSON only.', user: `Label ${label}`, schema: SCHEMA, schemaName: 'label', context: { tenantId: 'acme', analysisId } });

test('a key is accepted only in the dev profile; the config mapping picks the credential kind', () => {
  assert.instance(createModelCredential({ kind: 'key', profile: 'dev', apiKey: API_KEY }), AzureKeyCredential);
  const refuse = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ValidationError) return e.render();
      throw e;
    }
    throw new Error('expected a ValidationError');
  };
  const prod = refuse(() => createModelCredential({ kind: 'key', profile: 'production', apiKey: API_KEY }));
  assert.match(prod, /AI_AUTH: "key" is allowed only in the dev profile/);
  assert.not.match(prod, /S3CR3T/, 'the refusal does not print the key');
  assert.match(refuse(() => createModelCredentialFromConfig({ AI_AUTH: 'key', APP_PROFILE: 'dev' })), /AZURE_AI_API_KEY: is required/);
  assert.match(refuse(() => createModelCredentialFromConfig({ AI_AUTH: 'workload-identity', APP_PROFILE: 'production' })), /AZURE_FEDERATED_TOKEN_FILE: .*clientId is a required parameter/);
  assert.ok(isTokenCredential(createModelCredential({ kind: 'workload-identity', options: { tenantId: TENANT, clientId: CLIENT, tokenFilePath: '/var/run/secrets/azure/tokens/azure-identity-token' } })));
  assert.ok(isTokenCredential(createModelCredentialFromConfig({ AI_AUTH: 'managed-identity', APP_PROFILE: 'staging' })));
});

test('options from config: insecure http only in dev; version, timeout, prefix and credential from config', () => {
  const base = { AI_API_VERSION: '2025-04-01' as const, AI_TIMEOUT_MS: 90_000, AI_CACHE_TTL_SEC: 86_400, REDIS_KEY_PREFIX: 'ct' };
  const dev = aiCoordinatorOptionsFromConfig({ ...base, APP_PROFILE: 'dev', AI_AUTH: 'key', AZURE_AI_API_KEY: API_KEY }, [deployment(emu.endpoint, 'v3')], redis);
  assert.equal({ insecure: dev.allowInsecureConnection, v: dev.apiVersion, t: dev.timeoutMs, p: dev.keyPrefix }, { insecure: true, v: '2025-04-01', t: 90_000, p: 'ct' });
  assert.instance(dev.credential, AzureKeyCredential);
  const prod = aiCoordinatorOptionsFromConfig({ ...base, APP_PROFILE: 'production', AI_AUTH: 'managed-identity' }, [deployment(emu.endpoint, 'v3')], redis);
  assert.is(prod.allowInsecureConnection, false);
  assert.ok(isTokenCredential(prod.credential));
  assert.throws(() => createAiCoordinator(prod), (e: unknown) => e instanceof ValidationError && e.render().includes('models[0].endpoint: is http'));
});

test('cachedAssertion reuses a JWT until 60 s before its exp, and shares one pending fetch', async () => {
  let fetched = 0;
  const long = cachedAssertion(async () => {
    fetched += 1;
    return AWS_JWT;
  });
  await Promise.all([long(), long(), long()]);
  await long();
  assert.is(fetched, 1);
  let shortFetched = 0;
  const short = cachedAssertion(async () => {
    shortFetched += 1;
    return unsignedJwt({ exp: Math.floor(Date.now() / 1000) + 30 });
  });
  await short();
  await short();
  assert.is(shortFetched, 2, 'a JWT that expires within the margin is fetched again');
});

test('ManagedIdentityCredential: token from the identity endpoint for the cognitiveservices resource authenticates model calls', async () => {
  process.env.IDENTITY_ENDPOINT = `${fakeUrl}/msi/token`;
  process.env.IDENTITY_HEADER = IDENTITY_HEADER;
  const credential = createModelCredential({ kind: 'managed-identity' });
  const ai = createAiCoordinator({ models: [deployment(emu.endpoint, 'v3')], credential, redis, keyPrefix: `${stack.keyPrefix}:mi`, allowInsecureConnection: true, cacheTtlSec: 0 });
  await ai.generateJson(ask('mi one'));
  await ai.generateJson(ask('mi two'));
  const msi = fakeRequests.filter((r) => r.path === '/msi/token');
  assert.is(msi.length, 1, 'the token is cached between calls');
  assert.is(msi[0]?.query.get('resource'), 'https://cognitiveservices.azure.com', 'Foundry scope, not the client default ml.azure.com');
  assert.is(msi[0]?.query.get('api-version'), '2019-08-01');
  await ai.close();
});

test('ClientAssertionCredential fed by a token source (AWS web identity hook) authenticates model calls', async () => {
  const rewrite: HttpClient = {
    sendRequest(req) {
      req.url = req.url.replace('https://login.fake.test', fakeUrl);
      req.allowInsecureConnection = true;
      return createDefaultHttpClient().sendRequest(req);
    },
  };
  let sourced = 0;
  const credential = createModelCredential({
    kind: 'client-assertion',
    tenantId: TENANT,
    clientId: CLIENT,
    getAssertion: async () => {
      sourced += 1;
      return AWS_JWT;
    },
    options: { authorityHost: 'https://login.fake.test', disableInstanceDiscovery: true, httpClient: rewrite },
  });
  const ai = createAiCoordinator({ models: [deployment(emu.endpoint, 'v3')], credential, redis, keyPrefix: `${stack.keyPrefix}:ca`, allowInsecureConnection: true, cacheTtlSec: 0 });
  const { records } = await ai.generateJson(ask('federated'));
  assert.is(records[0]?.modelName, 'v3');
  const tokenCalls = fakeRequests.filter((r) => r.path === `/${TENANT}/oauth2/v2.0/token`);
  assert.is(tokenCalls.length, 1);
  assert.is(tokenCalls[0]?.form?.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  assert.match(tokenCalls[0]?.form?.get('scope') ?? '', /https:\/\/cognitiveservices\.azure\.com\/\.default/);
  assert.is(sourced, 1);
  await ai.close();
});

test('no key, token or assertion appears in the log, even on 401s and retries', async () => {
  const { logger, text } = capturedLogger();
  const good = createAiCoordinator({
    models: [deployment(emu.endpoint, 'v3')],
    credential: new AzureKeyCredential(API_KEY),
    redis,
    keyPrefix: `${stack.keyPrefix}:log`,
    allowInsecureConnection: true,
    logger,
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    breaker: { failureThreshold: 10 },
  });
  const wrong = createAiCoordinator({
    models: [deployment(emu.endpoint, 'v3')],
    credential: new AzureKeyCredential('wrong-key-S3CR3T-0006'),
    redis,
    keyPrefix: `${stack.keyPrefix}:log2`,
    allowInsecureConnection: true,
    logger,
  });
  await good.generateJson(ask('log ok'));
  emu.faults.serverError({ times: 1 });
  await good.generateJson(ask('log retry'));
  const err = await rejection(wrong.generateJson(ask('log 401')));
  assert.instance(err, TerminalError);
  assert.is((err as TerminalError).code, 'model_auth_failed');
  assert.match((err as Error).message, /HTTP 401/);
  assert.not.match((err as Error).message, /S3CR3T/);
  const log = text();
  assert.match(log, /ai call attempt failed; will retry/, 'the retry was logged');
  assert.match(log, /ai call rejected by the model/, 'the 401 was logged');
  assert.not.match(log, /S3CR3T/, 'no secret in the log');
  await Promise.all([good.close(), wrong.close()]);
});

test.run();
