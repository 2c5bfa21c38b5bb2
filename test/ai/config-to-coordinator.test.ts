/**
 * What the worker's runtime configuration sets in the coordinator it builds (options-from-config.ts), seen where it
 * matters: in Redis and on the wire to the emulator.
 * - The response cache's entry lifetime (issue 5 §4, "TTL configurable"): `AI_CACHE_TTL_SEC` gives entries that
 *   lifetime in Redis, 0 turns the cache off (every repeat is a model call), and bad values are refused at start-up
 *   naming the variable.
 * - `AI_API_VERSION` is the `api-version` sent for models of the desired state that pin none (dev.yml), and a
 *   model's pin wins (staging and production pin 2025-04-01).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import type { AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { aiCoordinatorOptionsFromConfig } from '../../services/ai/options-from-config.ts';
import type { Config } from '../../services/platform/config.ts';
import { loadDesiredState } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, deployment, devWorkerConfig, makeKeyframeJpegs } from './support/ai-harness.ts';

const KEY = 'dev-key-cache-ttl';
let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;
let frame: Buffer;

test.before(async () => {
  let frames: Buffer[];
  // The stack starts (and closes) the emulator; dev.yml's vision model is added to the harness's models.
  [stack, frames] = await Promise.all([
    startTestStack('ai-cache-ttl', { ai: { models: [...EMULATOR_MODELS, { name: 'Llama-3.2-90B-Vision-Instruct', provider: 'Meta', vision: true }], apiKeys: [KEY] } }),
    makeKeyframeJpegs([1]),
  ]);
  emu = stack.ai!;
  frame = frames[0]!;
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  await stack.close();
});

function workerConfig(env: Record<string, string>): Config {
  return devWorkerConfig(stack.redisUrl, KEY, env);
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

test('AI_API_VERSION is sent for the models of dev.yml, which pin no version; a pinned model keeps its own', async () => {
  const { spec } = await loadDesiredState('desired-state/dev.yml', { AI_FOUNDRY_ENDPOINT: emu.endpoint });
  const vision = spec.azure!.models.filter((m) => m.use.includes('vision'));
  assert.ok(vision.length > 0 && vision.every((m) => m.apiVersion === undefined), 'dev.yml pins no version');
  const sent = async (apiVersion: string, models: typeof vision, name: string): Promise<string[]> => {
    const ai = createAiCoordinator({ ...aiCoordinatorOptionsFromConfig(workerConfig({ AI_API_VERSION: apiVersion, AI_CACHE_TTL_SEC: '0' }), models, redis), keyPrefix: `${stack.keyPrefix}:${name}` });
    const before = emu.calls.records.length;
    await ai.describeImage({ image: frame, mimeType: 'image/jpeg', prompt: `Describe the frame (${name}).`, context: { tenantId: 'acme', analysisId: `an-${name}` } });
    await ai.close();
    return emu.calls.records.slice(before).filter((r) => r.route === 'chat/completions').map((r) => String(r.apiVersion));
  };
  assert.equal(await sent('2024-05-01-preview', vision, 'preview'), ['2024-05-01-preview']);
  assert.equal(await sent('2025-04-01', vision, 'ga'), ['2025-04-01']);
  assert.equal(await sent('2024-05-01-preview', vision.map((m) => ({ ...m, apiVersion: '2025-04-01' as const })), 'pinned'), ['2025-04-01'], 'the pin wins');
});

test.run();
