/**
 * Reasoning models answer slowly (minutes of thinking: reference/azure-ai-inference.md §9): with the configured
 * defaults (AI_TIMEOUT_MS 120 s per attempt), a DeepSeek-R1 answer that takes seconds is waited for, not timed
 * out and retried; its reasoning is kept out of the result but its tokens are billed and counted in metrics.
 * The emulator's latency (3 s) stands in for the long think; no timing assertion.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { aiCoordinatorOptionsFromConfig } from '../../services/ai/options-from-config.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, PRICES, deployment, devWorkerConfig } from './support/ai-harness.ts';

const KEY = 'dev-key-reasoning';
let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;

test.before(async () => {
  [stack, emu] = await Promise.all([startTestStack('ai-reason'), startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [KEY], latencyMs: 3_000 })]);
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  await Promise.all([emu.close(), stack.close()]);
});

const SCHEMA = { type: 'object', required: ['label'], additionalProperties: false, properties: { label: { type: 'string', minLength: 1 } } };

test('a slow DeepSeek-R1 answer is waited for with the configured timeout; reasoning billed, not returned', async () => {
  const config = devWorkerConfig(stack.redisUrl, KEY);
  assert.is(config.AI_TIMEOUT_MS, 120_000, 'default per-attempt timeout: 2 minutes');
  const registry = new Registry();
  // the stack's own key prefix (it cleans it up); the config's prefix pattern has no ':'
  const options = { ...aiCoordinatorOptionsFromConfig(config, [deployment(emu.endpoint, 'r1')], redis, undefined, { cacheTtlSec: 0, metricsRegistry: registry }), keyPrefix: stack.keyPrefix };
  assert.is(options.timeoutMs, 120_000);
  const ai = createAiCoordinator(options);
  const start = emu.calls.records.length;
  const { json, records } = await ai.generateJson({ system: 'Answer with JSON only.', user: 'Label a clip of a slow sunset time-lapse.', schema: SCHEMA, schemaName: 'label', context: { tenantId: 'acme', analysisId: 'an-reason' } });
  const calls = emu.calls.records.slice(start).filter((r) => r.route === 'chat/completions');
  assert.equal(calls.map((c) => c.status), [200], 'one call: not timed out, not retried');
  assert.ok(typeof json.label === 'string');
  assert.not.match(JSON.stringify(json), /\[emulator\] The request has/, 'no reasoning in the result');
  const usage = calls[0]!.usage!;
  const r = records[0]!;
  assert.is(r.completionTokens, usage.completion_tokens, 'completion tokens include the reasoning');
  assert.ok(r.completionTokens > Math.ceil(JSON.stringify(json).length / 4) * 2, 'far more tokens than the JSON answer alone');
  assert.is(r.costUsd, Math.round(((usage.prompt_tokens * PRICES.r1.input) / 1e6 + (usage.completion_tokens * PRICES.r1.output) / 1e6) * 1e12) / 1e12);
  assert.ok(r.durationMs >= 3_000, 'the answer took the emulated think time');
  const out = (await registry.getMetricsAsJSON()).find((m) => m.name === 'ai_tokens_total')!.values.find((v) => v.labels.direction === 'out')!;
  assert.is(out.value, usage.completion_tokens, 'metrics count the reasoning tokens too');
  await ai.close();
});

test.run();
