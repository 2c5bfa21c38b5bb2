/**
 * The Azure AI models observer (observe only) against the AI emulator over HTTP, through the real
 * @azure-rest/ai-inference ModelClient with a key credential: each declared endpoint is asked GET /info with
 * `?model=` (api-version 2025-04-01); a served model is Synced, a model the endpoint does not serve is drift,
 * an unreachable endpoint or a refused key is an Error for that model only, and nothing is ever written.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { AzureKeyCredential } from '@azure/core-auth';
import { spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { loadConfig } from '../../services/platform/config.ts';
import { observeAiModels } from '../../controller/observe/ai-models.ts';
import { aiModelObserverFromConfig, observesModels } from '../../controller/azure/model-credential.ts';
import { diff } from '../../controller/diff/diff.ts';
import { exitCodeOf, reconcile } from '../../controller/reconcile.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const KEY = 'test-ai-key';
let ai: AiEmulator;
let aws: AwsEmulator;
let clients: ReturnType<typeof clientsFor>;

function devWith(endpoint: string, change?: (d: DesiredState) => void): DesiredState {
  const d = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', { AI_FOUNDRY_ENDPOINT: endpoint });
  change?.(d);
  return d;
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const models = suite('Azure AI models observer');

models.before.each(() => ai?.calls.reset());

models.before(async () => {
  [ai, aws] = await Promise.all([
    startAiEmulator({ models: [{ name: 'Llama-3.2-90B-Vision-Instruct', provider: 'Meta', vision: true }, { name: 'DeepSeek-R1', provider: 'DeepSeek', reasoning: true }], apiKeys: [KEY] }),
    startAwsEmulator(),
  ]);
  clients = clientsFor(aws.endpoint);
  await seedFromDesired(aws.endpoint, devWith(ai.endpoint), { copilotNames: true });
});

models.after(async () => {
  clients.ecs.destroy();
  clients.autoscaling.destroy();
  await Promise.all([ai.close(), aws.close()]);
});

models('each declared endpoint answers GET /info?model= with the declared model: no drift', async () => {
  const desired = devWith(ai.endpoint);
  const seen = await observeAiModels(desired.spec.azure!.models, { credential: new AzureKeyCredential(KEY), allowInsecureConnection: true });
  assert.equal(seen.map((m) => [m.name, m.reportedModel, m.error]), [
    ['llama-vision', 'Llama-3.2-90B-Vision-Instruct', undefined],
    ['deepseek', 'DeepSeek-R1', undefined],
  ]);
  for (const model of ['Llama-3.2-90B-Vision-Instruct', 'DeepSeek-R1']) {
    const infos = ai.calls.records.filter((c) => c.route === 'info' && c.model === model);
    assert.equal(infos.map((c) => [c.method, c.apiVersion, c.status]), [['GET', '2025-04-01', 200]], `one GET /info?model=${model}`);
  }
  assert.equal(diff(desired, { services: {}, aiModels: seen }), []);
});

models('a full pass: served models Synced; a model the endpoint does not serve is drift (observe only); nothing written', async () => {
  const desired = devWith(ai.endpoint, (d) => (d.spec.azure!.models[1]!.model = 'DeepSeek-V3'));
  aws.resetCalls();
  const { report } = await reconcile(
    { desired, source: 'dev.yml', intent: 'apply' },
    { ...clients, taskDefinitions: new Map(), aiModels: { credential: new AzureKeyCredential(KEY), allowInsecureConnection: true } },
  );
  const byId = Object.fromEntries(report.resources.filter((r) => r.kind === 'ai-model').map((r) => [r.resource, r]));
  assert.is(byId['ai-model/llama-vision']?.status, 'Synced');
  const drifted = byId['ai-model/deepseek']!;
  assert.is(drifted.status, 'Drifted');
  assert.equal(drifted.drifts.map((d) => [d.path, d.field, d.desired, d.actual, d.action]), [['/spec/azure/models/1/model', 'model_name', 'DeepSeek-V3', null, 'none']]);
  assert.match(drifted.drifts[0]!.reason, /does not serve DeepSeek-V3 \(GET \/info answered HTTP 404/);
  assert.is(report.audit.length, 0);
  assert.is(aws.calls.filter((c) => !/^(List|Describe)/.test(c.operation)).length, 0, 'no write call');
  assert.is(exitCodeOf(report), 2);
});

models('a model whose endpoint names another model is drift with what it reported', () => {
  const desired = devWith('https://example.services.ai.azure.com/models');
  const drifts = diff(desired, {
    services: {},
    aiModels: [
      { name: 'llama-vision', endpoint: 'x', declaredModel: 'Llama-3.2-90B-Vision-Instruct', reportedModel: 'Llama-3.3-70B-Instruct' },
      { name: 'deepseek', endpoint: 'x', declaredModel: 'DeepSeek-R1', reportedModel: 'DeepSeek-R1' },
    ],
  }).filter((d) => d.kind === 'ai-model');
  assert.equal(drifts.map((d) => [d.resource, d.desired, d.actual, d.action]), [['ai-model/llama-vision', 'Llama-3.2-90B-Vision-Instruct', 'Llama-3.3-70B-Instruct', 'none']]);
  assert.match(drifts[0]!.reason, /serves Llama-3.3-70B-Instruct/);
});

models('an unreachable endpoint and a refused key are Errors for those models only; the rest of the pass goes on', async () => {
  const dead = `http://127.0.0.1:${await closedPort()}/models`;
  const desired = devWith(ai.endpoint, (d) => (d.spec.azure!.models[0]!.endpoint = dead));
  const { report } = await reconcile(
    { desired, source: 'dev.yml', intent: 'plan' },
    { ...clients, taskDefinitions: new Map(), aiModels: { credential: new AzureKeyCredential(KEY), allowInsecureConnection: true, timeoutMs: 3_000 } },
  );
  const status = Object.fromEntries(report.resources.map((r) => [r.resource, r.status]));
  assert.is(status['ai-model/llama-vision'], 'Error');
  assert.is(status['ai-model/deepseek'], 'Synced');
  assert.is(status['ecs-service/api'], 'Synced', 'ECS resources are unaffected');
  assert.match(report.errors.find((e) => e.resource === 'ai-model/llama-vision')!.message, /GET \/info failed: .*ECONNREFUSED/);
  assert.is(exitCodeOf(report), 1);

  const wrongKey = await observeAiModels(devWith(ai.endpoint).spec.azure!.models, { credential: new AzureKeyCredential('wrong'), allowInsecureConnection: true });
  assert.ok(wrongKey.every((m) => m.error?.startsWith('GET /info answered HTTP 401')), JSON.stringify(wrongKey));
});

models('credentials in an endpoint URL never reach the report; an empty 404 body (a proxy) is "not served", not a crash', async () => {
  // Not the emulator: a bare server that answers every request 404 with an empty body, as a proxy in front of a
  // wrong host does.
  const bare = createHttpServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  try {
    const endpoint = `http://admin:S3CR3T-PASS@127.0.0.1:${(bare.address() as AddressInfo).port}/models?api-key=S3CR3T-QUERY`;
    const desired = devWith(ai.endpoint, (d) => (d.spec.azure!.models[0]!.endpoint = endpoint));
    const { report } = await reconcile(
      { desired, source: 'dev.yml', intent: 'plan' },
      { ...clients, taskDefinitions: new Map(), aiModels: { credential: new AzureKeyCredential(KEY), allowInsecureConnection: true } },
    );
    const llama = report.resources.find((r) => r.resource === 'ai-model/llama-vision')!;
    assert.is(llama.status, 'Drifted', JSON.stringify(llama));
    assert.match(llama.drifts[0]!.reason, /does not serve Llama-3.2-90B-Vision-Instruct \(GET \/info answered HTTP 404\)/);
    assert.is(llama.liveId, `http://[redacted]@127.0.0.1:${(bare.address() as AddressInfo).port}/models?[redacted]`);
    assert.not.match(JSON.stringify(report), /S3CR3T/, 'no password or query key anywhere in the report');
  } finally {
    await new Promise((resolve) => bare.close(resolve));
  }
});

models('a refused connection leaves no timer behind: trendctl plan exits as soon as it has printed', async () => {
  // In a process of its own, so that only the probe's resources are counted. The SDK's `timeout` option kept its timer
  // after the connection was refused, and the CLI waited out the whole timeout (2 minutes with AI_TIMEOUT_MS).
  const script = [
    "import { AzureKeyCredential } from '@azure/core-auth';",
    "import { observeAiModels } from './controller/observe/ai-models.ts';",
    `const [seen] = await observeAiModels([{ name: 'x', use: ['vision'], endpoint: 'http://127.0.0.1:${await closedPort()}/models', model: 'm', quota: { requestsPerMinute: 1, tokensPerMinute: 1000 }, pricePer1MTokens: { input: 1, output: 1 } }], { credential: new AzureKeyCredential('k'), allowInsecureConnection: true, timeoutMs: 600000 });`,
    'console.log(JSON.stringify({ error: seen.error, active: process.getActiveResourcesInfo() }));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: string; active: string[] };
  assert.match(out.error, /GET \/info failed: .*ECONNREFUSED/);
  assert.not.ok(out.active.includes('Timeout'), `resources still active: ${out.active.join(', ')}`);
});

models('plain http is refused unless allowed (dev stand-ins only)', async () => {
  const seen = await observeAiModels(devWith(ai.endpoint).spec.azure!.models, { credential: new AzureKeyCredential(KEY) });
  assert.ok(seen.every((m) => m.error?.includes('refusing plain http endpoint')));
});

models('configuration: key auth in dev observes; dev without a credential does not (auto); off / on override', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379', DESIRED_STATE_FILE: 'x.yml' };
  const withKey = loadConfig('reconciler', { ...base, AI_AUTH: 'key', AZURE_AI_API_KEY: KEY });
  const deps = aiModelObserverFromConfig(withKey);
  assert.ok(deps?.credential instanceof AzureKeyCredential);
  assert.is(deps?.allowInsecureConnection, true);
  assert.is(observesModels(loadConfig('reconciler', base)), false, 'dev with the default managed identity: not probed');
  assert.is(observesModels(loadConfig('reconciler', { ...base, AI_AUTH: 'key', AZURE_AI_API_KEY: KEY, RECONCILE_AI_MODELS: 'off' })), false);
  assert.is(observesModels(loadConfig('reconciler', { ...base, RECONCILE_AI_MODELS: 'on' })), true);
});

models.run();
