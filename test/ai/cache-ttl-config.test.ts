/**
 * The response cache's entry lifetime is set by the deployment (issue 5 §4, "TTL configurable"): `AI_CACHE_TTL_SEC`
 * from the runtime configuration reaches the coordinator the worker builds (options-from-config.ts), entries get
 * that lifetime in Redis, 0 turns the cache off (every repeat is a model call), and bad values are refused at
 * start-up naming the variable.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { aiCoordinatorOptionsFromConfig } from '../../services/ai/options-from-config.ts';
import { loadConfig, type Config } from '../../services/platform/config.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, deployment, makeKeyframeJpegs } from './support/ai-harness.ts';

const KEY = 'dev-key-cache-ttl';
let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;
let frame: Buffer;

test.before(async () => {
  let frames: Buffer[];
  [stack, emu, frames] = await Promise.all([startTestStack('ai-cache-ttl'), startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [KEY] }), makeKeyframeJpegs([1])]);
  frame = frames[0]!;
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  await Promise.all([emu.close(), stack.close()]);
});

function workerConfig(env: Record<string, string>): Config {
  return loadConfig('worker', {
    REDIS_URL: stack.redisUrl,
    S3_TEMP_BUCKET: 'tmp',
    DESIRED_STATE_FILE: 'd.yml',
    AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    AI_AUTH: 'key',
    AZURE_AI_API_KEY: KEY,
    ...env,
  });
}

/** Two identical describeImage calls through a coordinator built from `config`, under a key prefix of its own (`name`). */
async function twoCalls(config: Config, name: string): Promise<{ cached: boolean[]; modelCalls: number; ttls: number[] }> {
  const prefix = `${stack.keyPrefix}:${name}`;
  const ai = createAiCoordinator({ ...aiCoordinatorOptionsFromConfig(config, [deployment(emu.endpoint, 'vision')], redis), keyPrefix: prefix });
  const before = emu.calls.records.filter((r) => r.route === 'chat/completions').length;
  const req = { image: frame, mimeType: 'image/jpeg' as const, prompt: 'Describe the frame.', context: { tenantId: 'acme', analysisId: `an-${name}` } };
  const first = await ai.describeImage(req);
  await ai.settle();
  const second = await ai.describeImage(req);
  await ai.close();
  const keys = await redis.keys(`${prefix}:ai:cache:*`);
  const ttls = await Promise.all(keys.map((k) => redis.ttl(k)));
  return { cached: [first.record.cached, second.record.cached], modelCalls: emu.calls.records.filter((r) => r.route === 'chat/completions').length - before, ttls };
}

test('the default is one day; AI_CACHE_TTL_SEC sets the lifetime of the entries in Redis', async () => {
  assert.is(workerConfig({}).AI_CACHE_TTL_SEC, 86_400);
  const config = workerConfig({ AI_CACHE_TTL_SEC: '120' });
  assert.is(aiCoordinatorOptionsFromConfig(config, [deployment(emu.endpoint, 'vision')], redis).cacheTtlSec, 120);
  const r = await twoCalls(config, 'ttl120');
  assert.equal(r.cached, [false, true], 'the repeat is answered from the cache');
  assert.is(r.modelCalls, 1);
  assert.is(r.ttls.length, 1, 'one entry');
  assert.ok(r.ttls[0]! > 100 && r.ttls[0]! <= 120, `entry TTL ${r.ttls[0]} s, configured 120 s`);
});

test('AI_CACHE_TTL_SEC=0 turns the cache off: nothing stored, every repeat is a model call', async () => {
  const r = await twoCalls(workerConfig({ AI_CACHE_TTL_SEC: '0' }), 'ttl0');
  assert.equal(r.cached, [false, false]);
  assert.is(r.modelCalls, 2);
  assert.equal(r.ttls, [], 'no entry written');
});

test('bad values are refused at start-up, naming AI_CACHE_TTL_SEC', () => {
  for (const bad of ['-1', '1.5', 'a day', '2592001']) {
    try {
      workerConfig({ AI_CACHE_TTL_SEC: bad });
      assert.unreachable(`AI_CACHE_TTL_SEC=${bad} was accepted`);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      const lines = e.problems.map((p) => `${p.where}: ${p.message}`);
      assert.ok(lines.some((l) => l.startsWith('AI_CACHE_TTL_SEC: ')), `AI_CACHE_TTL_SEC=${bad}: ${lines.join('; ')}`);
    }
  }
});

test.run();
