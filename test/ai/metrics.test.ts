/**
 * The coordinator's prom-client metrics (services/ai/metrics.ts), read back from the registry the test passes in
 * after real calls to the AI emulator over HTTP: calls by model/task/outcome, tokens in/out matching the
 * emulator's `usage`, cost, cache hits and misses, attempts by status, retries, 429s, quota waits, breaker state.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AzureKeyCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator, type AiCoordinatorOptions } from '../../services/ai/coordinator.ts';
import { QuotaExceededError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, deployment, rejection } from './support/ai-harness.ts';

const KEY = 'dev-key-metrics';
let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;
let n = 0;
const SCHEMA = { type: 'object', required: ['label'], properties: { label: { type: 'string' } } };
const ask = (label: string, tenantId = 'acme') => ({ system: 'JSON only.', user: `Label ${label}`, schema: SCHEMA, schemaName: 'label', context: { tenantId, analysisId: 'an-metrics' } });

test.before(async () => {
  [stack, emu] = await Promise.all([startTestStack('ai-metrics'), startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [KEY] })]);
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  await Promise.all([emu.close(), stack.close()]);
});

function coordinator(registry: Registry, over: Partial<AiCoordinatorOptions> = {}) {
  return createAiCoordinator({
    models: [deployment(emu.endpoint, 'v3')],
    credential: new AzureKeyCredential(KEY),
    redis,
    keyPrefix: `${stack.keyPrefix}:${++n}`,
    allowInsecureConnection: true,
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    metricsRegistry: registry,
    ...over,
  });
}

/** The value of metric `name` (a histogram's `_count` / `_sum` too) whose labels include `labels`; 0 when absent. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const base = name.replace(/_(count|sum)$/, '');
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name || m.name === base);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const rows = (metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>).filter(
    (v) => (v.metricName ?? metric.name) === name && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return rows.reduce((sum, v) => sum + v.value, 0);
}

test('calls, tokens, cost and cache hits/misses are counted; tokens match the emulator usage', async () => {
  const registry = new Registry();
  const ai = coordinator(registry, { cacheTtlSec: 60 });
  const start = emu.calls.records.length;
  const first = await ai.generateJson(ask('cached one'));
  const again = await ai.generateJson(ask('cached one'));
  assert.is(again.records[0]?.cached, true);
  const usage = emu.calls.records.slice(start).find((r) => r.status === 200)?.usage;
  assert.ok(usage);
  assert.is(await value(registry, 'ai_calls_total', { model: 'v3', task: 'text', outcome: 'ok' }), 1);
  assert.is(await value(registry, 'ai_calls_total', { model: 'v3', task: 'text', outcome: 'cached' }), 1);
  assert.is(await value(registry, 'ai_call_duration_seconds_count', { model: 'v3', task: 'text' }), 2);
  assert.is(await value(registry, 'ai_tokens_total', { model: 'v3', direction: 'in' }), usage!.prompt_tokens);
  assert.is(await value(registry, 'ai_tokens_total', { model: 'v3', direction: 'out' }), usage!.completion_tokens);
  const cost = await value(registry, 'ai_cost_usd_total', { model: 'v3', task: 'text' });
  assert.ok(Math.abs(cost - first.records[0]!.costUsd) < 1e-12 && cost > 0, `cost ${cost}`);
  const hits = await value(registry, 'ai_cache_lookups_total', { task: 'text', result: 'hit' });
  const misses = await value(registry, 'ai_cache_lookups_total', { task: 'text', result: 'miss' });
  assert.equal({ hits, misses, hitRate: hits / (hits + misses) }, { hits: 1, misses: 1, hitRate: 0.5 });
  assert.is(await value(registry, 'ai_attempts_total', { model: 'v3', status: '200' }), 1, 'the cache hit made no attempt');
  await ai.close();
});

test('retries, 429s, quota waits and attempts by status; refusals counted by error code', async () => {
  const registry = new Registry();
  const ai = coordinator(registry, { cacheTtlSec: 0, breaker: { failureThreshold: 10 } });
  // retry-after-ms = the time left in the 1.5 s window: one 429, then the answer
  emu.faults.throttle({ forMs: 1_500, header: 'retry-after-ms' });
  await ai.generateJson(ask('throttled'));
  emu.faults.clear();
  emu.faults.serverError({ times: 1 });
  await ai.generateJson(ask('flaky'));
  assert.is(await value(registry, 'ai_throttled_total', { model: 'v3' }), 1);
  assert.is(await value(registry, 'ai_attempts_total', { model: 'v3', status: '429' }), 1);
  assert.is(await value(registry, 'ai_attempts_total', { model: 'v3', status: '500' }), 1);
  assert.is(await value(registry, 'ai_attempts_total', { model: 'v3', status: '200' }), 2);
  assert.is(await value(registry, 'ai_retries_total', { model: 'v3', reason: 'throttled' }), 1);
  assert.is(await value(registry, 'ai_retries_total', { model: 'v3', reason: 'server_error' }), 1);
  assert.ok((await value(registry, 'ai_quota_wait_seconds_count', { task: 'text' })) >= 1, 'the 429 hold was waited out');
  assert.ok((await value(registry, 'ai_quota_wait_seconds_sum', { task: 'text' })) > 0, 'the wait is measured');
  const poor = coordinator(registry, { dailyBudgetUsd: { poor: 0.000001 } });
  assert.instance(await rejection(poor.generateJson(ask('budget', 'poor'))), QuotaExceededError);
  assert.is(await value(registry, 'ai_calls_total', { model: 'none', task: 'text', outcome: 'budget_exceeded' }), 1);
  assert.is(await value(registry, 'ai_calls_total', { outcome: 'ok' }), 2, 'two coordinators share one registry');
  await Promise.all([ai.close(), poor.close()]);
});

test('breaker state gauge: 2 when a deployment breaker is open, 0 for a closed one', async () => {
  const registry = new Registry();
  const ai = coordinator(registry, { models: [deployment(emu.endpoint, 'v3'), deployment(emu.endpoint, 'r1')], cacheTtlSec: 0, breaker: { failureThreshold: 1, coolDownMs: 60_000 } });
  emu.faults.serverError({ times: 1 });
  const { records } = await ai.generateJson(ask('breaker'));
  assert.is(records[0]?.modelName, 'r1');
  assert.is(await value(registry, 'ai_breaker_state', { model: 'v3' }), 2);
  assert.is(await value(registry, 'ai_breaker_state', { model: 'r1' }), 0);
  assert.match(await registry.metrics(), /ai_breaker_state\{model="v3"\} 2/);
  await ai.close();
});

test.run();
