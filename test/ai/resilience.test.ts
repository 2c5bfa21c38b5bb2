/**
 * Retries, breakers, fallback and quotas against the AI emulator's fault injection over HTTP, with a real Redis.
 * No timing assertion beyond lower bounds the server itself named (a retry never arrives before its retry-after).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AzureKeyCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { startAiEmulator, type AiEmulator, type AiCallRecord } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator, type AiCoordinatorOptions } from '../../services/ai/coordinator.ts';
import { QuotaExceededError, TerminalError, TransientError } from '../../services/platform/errors.ts';
import { utcDay } from '../../services/ai/usage-ledger.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, deployment, rejection } from './support/ai-harness.ts';

const KEY = 'dev-key-resilience';
let stack: TestStack;
let redis: Redis;
let redis2: Redis;
let emu: AiEmulator;
let n = 0;

const SCHEMA = { type: 'object', required: ['label'], additionalProperties: false, properties: { label: { type: 'string', minLength: 1 } } };

test.before(async () => {
  [stack, emu] = await Promise.all([startTestStack('ai-resil'), startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [KEY] })]);
  redis = new Redis(stack.redisUrl);
  redis2 = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  redis2.disconnect();
  await Promise.all([emu.close(), stack.close()]);
});

test.before.each(() => {
  emu.faults.clear();
});

/** A coordinator with its own key prefix (fresh quota, breakers and cache) unless `prefix` is shared on purpose. */
function coordinator(over: Partial<AiCoordinatorOptions> = {}, prefix = `${stack.keyPrefix}:${++n}`) {
  return createAiCoordinator({
    models: [deployment(emu.endpoint, 'v3')],
    credential: new AzureKeyCredential(KEY),
    redis,
    keyPrefix: prefix,
    allowInsecureConnection: true,
    timeoutMs: 5_000,
    cacheTtlSec: 0,
    retry: { maxAttempts: 4, maxTotalWaitMs: 5_000, baseDelayMs: 20, maxDelayMs: 100 },
    ...over,
  });
}

function ask(label: string) {
  return { system: 'Answer with JSON only.', user: `Label: ${label}`, schema: SCHEMA, schemaName: 'label', context: { tenantId: 'acme', analysisId: 'an-resil' } };
}

function chatCallsSince(start: number): AiCallRecord[] {
  return emu.calls.records.slice(start).filter((r) => r.route === 'chat/completions');
}

test('429 with retry-after-ms: every retry arrives no earlier than the stated wait; calls bounded', async () => {
  const ai = coordinator({ breaker: { failureThreshold: 10 }, retry: { maxAttempts: 6, maxTotalWaitMs: 5_000 } });
  const start = emu.calls.records.length;
  emu.faults.throttle({ forMs: 1_500, retryAfterMs: 300, header: 'retry-after-ms' });
  const { records } = await ai.generateJson(ask('retry-after-ms'));
  const calls = chatCallsSince(start);
  // The window lasts 1500 ms (long enough for a first call on a loaded machine to land in it) and each 429 asks
  // for 300 ms: at most ceil(1500 / 300) = 5 throttled calls, then one answer.
  assert.ok(calls.length >= 2 && calls.length <= 6, `calls: ${calls.map((c) => c.status).join(',')}`);
  assert.equal(calls.map((c) => c.status), [...Array(calls.length - 1).fill(429), 200]);
  for (let i = 1; i < calls.length; i++) {
    const gap = calls[i]!.atMs - calls[i - 1]!.atMs;
    assert.ok(gap >= 300, `call ${i} came ${gap} ms after the 429 that asked for 300 ms`);
  }
  assert.is(records[0]?.modelName, 'v3');
  await ai.close();
});

test('429 with retry-after in seconds (flat error body) is honoured too', async () => {
  const ai = coordinator({ breaker: { failureThreshold: 10 } });
  const start = emu.calls.records.length;
  emu.faults.throttle({ forMs: 900, retryAfterMs: 1000, header: 'retry-after', bodyShape: 'flat' });
  await ai.generateJson(ask('retry-after seconds'));
  const calls = chatCallsSince(start);
  assert.equal(calls.map((c) => c.status), [429, 200]);
  assert.ok(calls[1]!.atMs - calls[0]!.atMs >= 1000, 'waited the 1 s the header named');
  await ai.close();
});

test('429 without any retry header: jittered backoff, then TransientError after maxAttempts; exactly that many calls', async () => {
  const ai = coordinator({ retry: { maxAttempts: 3, maxTotalWaitMs: 5_000, baseDelayMs: 20, maxDelayMs: 50 }, breaker: { failureThreshold: 10 } });
  const start = emu.calls.records.length;
  emu.faults.throttle({ forMs: 60_000, header: 'none' });
  const err = await rejection(ai.generateJson(ask('no header')));
  assert.instance(err, TransientError);
  assert.is((err as TransientError).code, 'model_unavailable');
  assert.match((err as Error).message, /after 3 attempt\(s\).*HTTP 429/);
  assert.is(chatCallsSince(start).length, 3);
  await ai.close();
});

test('a retry-after longer than the wait budget fails at once instead of waiting', async () => {
  const ai = coordinator({ retry: { maxAttempts: 4, maxTotalWaitMs: 1_000 } });
  const start = emu.calls.records.length;
  emu.faults.throttle({ forMs: 60_000, retryAfterMs: 30_000, header: 'retry-after-ms' });
  const err = await rejection(ai.generateJson(ask('long wait')));
  assert.instance(err, TransientError);
  assert.match((err as Error).message, /server asked to wait 30000 ms/);
  assert.is(chatCallsSince(start).length, 1);
  await ai.close();
});

test('500 then success: retried with backoff; the record comes from the successful call', async () => {
  const ai = coordinator();
  const start = emu.calls.records.length;
  emu.faults.serverError({ times: 2 });
  const { records } = await ai.generateJson(ask('flaky server'));
  const calls = chatCallsSince(start);
  assert.equal(calls.map((c) => c.status), [500, 500, 200]);
  assert.is(records[0]?.promptTokens, calls[2]?.usage?.prompt_tokens);
  assert.equal(ai.breakerStates(), { v3: 'closed' });
  await ai.close();
});

test('a 4xx other than 429 is terminal: one call, no retry, breaker untouched', async () => {
  const ai = coordinator({ models: [deployment(emu.endpoint, 'v3', { model: 'No-Such-Model' })] });
  const start = emu.calls.records.length;
  const err = await rejection(ai.generateJson(ask('unknown model')));
  assert.instance(err, TerminalError);
  assert.is((err as TerminalError).code, 'model_rejected_request');
  assert.match((err as Error).message, /v3: HTTP 404 unknown_model: Unknown model: No-Such-Model/);
  assert.is(chatCallsSince(start).length, 1);
  const bad = coordinator({ models: [deployment(emu.endpoint, 'v3')] });
  const badStart = emu.calls.records.length;
  const err400 = await rejection(bad.generateJson({ ...ask('x'), schema: { type: 'object', properties: { label: { type: 'string', pattern: '(' } } } }));
  // ajv refuses the broken pattern before any call
  assert.match(String((err400 as Error).message), /does not compile/);
  assert.is(chatCallsSince(badStart).length, 0);
  assert.equal(ai.breakerStates(), { v3: 'closed' });
  await Promise.all([ai.close(), bad.close()]);
});

test('a 400 from the model (image too large for the deployment) is terminal after one call', async () => {
  const small = await startAiEmulator({ models: [{ name: 'Llama-3.2-11B-Vision-Instruct', provider: 'Meta', vision: true, maxImageEdgePx: 64 }], apiKeys: [KEY] });
  try {
    const ai = coordinator({ models: [deployment(small.endpoint, 'vision')] });
    const png = await import('sharp').then(({ default: sharp }) => sharp({ create: { width: 200, height: 100, channels: 3, background: '#3366cc' } }).png().toBuffer());
    const err = await rejection(ai.describeImage({ image: png, mimeType: 'image/png', prompt: 'describe', context: { tenantId: 'acme', analysisId: 'an-400' } }));
    assert.instance(err, TerminalError);
    assert.match((err as Error).message, /HTTP 400/);
    assert.is(small.calls.count({ route: 'chat/completions' }), 1);
    await ai.close();
  } finally {
    await small.close();
  }
});

test('fallback: after the cheapest deployment breaker opens, the next model answers, and later calls skip it', async () => {
  const ai = coordinator({ models: [deployment(emu.endpoint, 'r1'), deployment(emu.endpoint, 'v3')], breaker: { failureThreshold: 2, coolDownMs: 60_000 } });
  const start = emu.calls.records.length;
  emu.faults.serverError({ times: 2 });
  const { records } = await ai.generateJson(ask('fallback'));
  const calls = chatCallsSince(start);
  assert.equal(calls.map((c) => `${c.model}:${c.status}`), ['DeepSeek-V3:500', 'DeepSeek-V3:500', 'DeepSeek-R1:200']);
  assert.is(records[0]?.modelName, 'r1');
  assert.equal(ai.breakerStates(), { r1: 'closed', v3: 'open' });
  const next = await ai.generateJson(ask('after the breaker opened'));
  assert.is(next.records[0]?.modelName, 'r1');
  assert.is(chatCallsSince(start).filter((c) => c.model === 'DeepSeek-V3').length, 2, 'no call to the open deployment');
  await ai.close();
});

test('a throttled deployment spills over to the next model with room instead of waiting', async () => {
  const ai = coordinator({ models: [deployment(emu.endpoint, 'v3'), deployment(emu.endpoint, 'r1')] });
  const start = emu.calls.records.length;
  emu.faults.throttle({ forMs: 60_000, retryAfterMs: 20_000, header: 'retry-after-ms', model: 'DeepSeek-V3' });
  const { records } = await ai.generateJson(ask('spill over'));
  assert.equal(chatCallsSince(start).map((c) => `${c.model}:${c.status}`), ['DeepSeek-V3:429', 'DeepSeek-R1:200']);
  assert.is(records[0]?.modelName, 'r1');
  await ai.close();
});

test('RPM quota is shared by two coordinator instances (two Redis connections, one prefix)', async () => {
  const prefix = `${stack.keyPrefix}:shared`;
  const models = [deployment(emu.endpoint, 'v3', { quota: { requestsPerMinute: 3, tokensPerMinute: 1_000_000 } })];
  const a = coordinator({ models, retry: { maxTotalWaitMs: 0 } }, prefix);
  const b = coordinator({ models, retry: { maxTotalWaitMs: 0 }, redis: redis2 }, prefix);
  const start = emu.calls.records.length;
  const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).generateJson(ask(`quota ${i}`))));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.is(ok.length, 3);
  assert.is(refused.length, 3);
  for (const r of refused) {
    assert.instance(r.reason, QuotaExceededError);
    assert.is((r.reason as QuotaExceededError).code, 'model_quota_exceeded');
    assert.ok((r.reason as QuotaExceededError).retryAfterMs > 0);
  }
  assert.is(chatCallsSince(start).length, 3, 'refused calls never reached the model');
  await Promise.all([a.close(), b.close()]);
});

test('a tenant daily budget refuses the call atomically before it is sent', async () => {
  const ai = coordinator({ dailyBudgetUsd: { poor: 0.000001 } });
  const start = emu.calls.records.length;
  const err = await rejection(ai.generateJson({ ...ask('budget'), context: { tenantId: 'poor', analysisId: 'an-budget' } }));
  assert.instance(err, QuotaExceededError);
  assert.is((err as QuotaExceededError).code, 'budget_exceeded');
  assert.is(chatCallsSince(start).length, 0);
  await ai.generateJson({ ...ask('budget'), context: { tenantId: 'rich', analysisId: 'an-budget' } });
  await ai.close();
});

test('one admission round trip: a budget refusal takes no quota; a cache hit takes neither quota nor budget', async () => {
  const models = [deployment(emu.endpoint, 'v3', { quota: { requestsPerMinute: 1, tokensPerMinute: 1_000_000 } })];
  const ai = coordinator({ models, cacheTtlSec: 60, dailyBudgetUsd: { poor: 0.000001 }, retry: { maxTotalWaitMs: 0 } });
  const start = emu.calls.records.length;
  const refused = await rejection(ai.generateJson({ ...ask('admission'), context: { tenantId: 'poor', analysisId: 'an-adm-1' } }));
  assert.is((refused as QuotaExceededError).code, 'budget_exceeded');
  // The refusal took no RPM: the single request of the minute is still free for another tenant.
  const answered = await ai.generateJson({ ...ask('admission'), context: { tenantId: 'acme', analysisId: 'an-adm-2' } });
  const full = await rejection(ai.generateJson({ ...ask('admission, another request'), context: { tenantId: 'acme', analysisId: 'an-adm-3' } }));
  assert.is((full as QuotaExceededError).code, 'model_quota_exceeded');
  // The quota is spent and the tenant's budget refuses any model call, yet the same request is answered from the cache.
  const hit = await ai.generateJson({ ...ask('admission'), context: { tenantId: 'poor', analysisId: 'an-adm-4' } });
  assert.equal(hit.json, answered.json);
  assert.equal({ cached: hit.records[0]?.cached, costUsd: hit.records[0]?.costUsd }, { cached: true, costUsd: 0 });
  assert.is(chatCallsSince(start).length, 1);
  assert.is((await ai.usage.readDay('poor', utcDay())).reservedUsd, 0, 'nothing left reserved for the refused tenant');
  await ai.close();
});

test('a timeout is retried and then reported as TransientError', async () => {
  const ai = coordinator({ timeoutMs: 150, retry: { maxAttempts: 2, maxTotalWaitMs: 2_000, baseDelayMs: 10, maxDelayMs: 20 }, breaker: { failureThreshold: 10 } });
  const start = emu.calls.records.length;
  emu.faults.latency(1_000);
  const err = await rejection(ai.generateJson(ask('slow')));
  assert.instance(err, TransientError);
  assert.match((err as Error).message, /timeout: no response within 150 ms/);
  emu.faults.clear();
  // The emulator logs a request when it answers; wait (bounded) for the two slow answers to be logged.
  for (let i = 0; i < 60 && chatCallsSince(start).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.is(chatCallsSince(start).length, 2);
  await ai.close();
});

test('close() cuts a call short with TransientError (the job can run elsewhere) and refuses new calls', async () => {
  const ai = coordinator();
  emu.faults.latency(2_000);
  const pending = rejection(ai.generateJson(ask('closing')));
  await new Promise((r) => setTimeout(r, 100));
  await ai.close();
  const err = await pending;
  assert.instance(err, TransientError);
  assert.is((err as TransientError).code, 'coordinator_closed');
  const after = await rejection(ai.generateJson(ask('after close')));
  assert.instance(after, TransientError);
  assert.is((after as TransientError).code, 'coordinator_closed');
  emu.faults.clear();
});

test.run();
