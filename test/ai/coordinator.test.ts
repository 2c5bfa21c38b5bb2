/**
 * The AI coordinator over HTTP against the Azure AI inference emulator and a real Redis: a real keyframe JPEG,
 * JSON generation on a reasoning model with both API versions, exact cost arithmetic, the response cache, the
 * repair call, and usage counters.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AzureKeyCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { costUsd } from '../../services/ai/cost.ts';
import { utcDay } from '../../services/ai/usage-ledger.ts';
import { TerminalError, ValidationError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, PRICES, deployment, makeKeyframeJpegs, rejection } from './support/ai-harness.ts';

const KEY = 'dev-key-coordinator-test';
let stack: TestStack;
let redis: Redis;
let emu: AiEmulator;
let jpeg: Buffer;
let otherJpeg: Buffer;

const TREND_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'mood', 'hashtags', 'score'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 80 },
    mood: { enum: ['calm', 'energetic', 'funny', 'dramatic'] },
    hashtags: { type: 'array', minItems: 1, maxItems: 5, items: { type: 'string', minLength: 1 } },
    score: { type: 'integer', minimum: 0, maximum: 100 },
  },
};

test.before(async () => {
  let frames: Buffer[];
  [stack, emu, frames] = await Promise.all([
    startTestStack('ai-coord'),
    startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [KEY] }),
    makeKeyframeJpegs([1, 0.3]),
  ]);
  [jpeg, otherJpeg] = frames as [Buffer, Buffer];
  redis = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  await Promise.all([emu.close(), stack.close()]);
});

function coordinator(models = [deployment(emu.endpoint, 'vision'), deployment(emu.endpoint, 'v3'), deployment(emu.endpoint, 'r1')], over: Partial<Parameters<typeof createAiCoordinator>[0]> = {}) {
  return createAiCoordinator({
    models,
    credential: new AzureKeyCredential(KEY),
    redis,
    keyPrefix: stack.keyPrefix,
    allowInsecureConnection: true,
    timeoutMs: 10_000,
    ...over,
  });
}

test('describeImage sends the real JPEG as a data URL and accounts tokens and cost from usage', async () => {
  assert.ok(jpeg[0] === 0xff && jpeg[1] === 0xd8, 'ffmpeg produced a JPEG');
  const ai = coordinator();
  const before = emu.calls.count({ route: 'chat/completions' });
  const { text, record } = await ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'Describe this keyframe for a trend report.', context: { tenantId: 'acme', analysisId: 'an-img-1' } });
  assert.is(emu.calls.count({ route: 'chat/completions' }), before + 1);
  const call = emu.calls.records[emu.calls.records.length - 1]!;
  assert.is(call.status, 200);
  assert.is(call.apiVersion, '2025-04-01');
  assert.is(call.model, 'Llama-3.2-11B-Vision-Instruct');
  const body = call.body as { messages: Array<{ content: Array<{ type: string; image_url?: { url: string } }> }> };
  assert.is(body.messages[0]?.content[1]?.image_url?.url, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
  assert.match(text, /640x360/, 'the emulator measured the real frame');
  assert.is(record.modelName, 'vision');
  assert.is(record.task, 'vision');
  assert.is(record.cached, false);
  assert.is(record.promptTokens, call.usage?.prompt_tokens);
  assert.is(record.completionTokens, call.usage?.completion_tokens);
  assert.ok(record.promptTokens >= 1610, 'an image costs its tokens');
  assert.is(record.costUsd, costUsd(PRICES.vision, record.promptTokens, record.completionTokens));
  await ai.close();
});

test('the same keyframe in a second analysis is answered from the cache: no model call, cost 0', async () => {
  const ai = coordinator();
  const ctx = { tenantId: 'cache-tenant', analysisId: 'an-a' };
  const first = await ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'What trend does this frame show?', context: ctx });
  const calls = emu.calls.count({ route: 'chat/completions' });
  const second = await ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'What trend does this frame show?', context: { ...ctx, analysisId: 'an-b' } });
  assert.is(emu.calls.count({ route: 'chat/completions' }), calls, 'no second model call');
  assert.is(second.text, first.text);
  assert.equal({ cached: second.record.cached, costUsd: second.record.costUsd, modelName: second.record.modelName }, { cached: true, costUsd: 0, modelName: 'vision' });
  await ai.settle(); // the usage records are written after the calls return
  const usage = await ai.usage.readDay('cache-tenant', utcDay());
  assert.equal(usage.byModel.vision, { promptTokens: first.record.promptTokens, completionTokens: first.record.completionTokens, costUsd: first.record.costUsd, calls: 2, cachedCalls: 1 });
  assert.is((await ai.usage.readAnalysis('cache-tenant', 'an-b')).byModel.vision?.cachedCalls, 1);
  // A different image is a different request.
  const third = await ai.describeImage({ image: otherJpeg, mimeType: 'image/jpeg', prompt: 'What trend does this frame show?', context: ctx });
  assert.is(third.record.cached, false);
  assert.is(emu.calls.count({ route: 'chat/completions' }), calls + 1);
  await ai.close();
});

for (const apiVersion of ['2025-04-01', '2024-05-01-preview'] as const) {
  test(`generateJson on DeepSeek-R1 (api-version ${apiVersion}): valid JSON, reasoning stripped but billed, exact cost`, async () => {
    const ai = coordinator([deployment(emu.endpoint, 'r1', { apiVersion })], { cacheTtlSec: 0 });
    const { json, records } = await ai.generateJson({
      system: 'You label short-video trends. Answer with JSON only.',
      user: `Summarise the trend of a clip about skateboarding tricks at sunset (${apiVersion}).`,
      schema: TREND_SCHEMA,
      schemaName: 'trend_label',
      context: { tenantId: 'acme', analysisId: `an-json-${apiVersion}` },
    });
    const call = emu.calls.records[emu.calls.records.length - 1]!;
    assert.is(call.apiVersion, apiVersion);
    assert.is(call.model, 'DeepSeek-R1');
    const sent = call.body as { response_format: unknown; temperature?: number };
    assert.equal(sent.response_format, { type: 'json_schema', json_schema: { name: 'trend_label', schema: TREND_SCHEMA, strict: true } });
    assert.is(sent.temperature, undefined, 'no temperature for a reasoning model');
    assert.equal(Object.keys(json).sort(), ['hashtags', 'mood', 'score', 'title']);
    assert.not.match(JSON.stringify(json), /\[emulator\] The request has/, 'no reasoning text in the answer');
    assert.is(records.length, 1);
    const r = records[0]!;
    const usage = call.usage!;
    assert.is(r.promptTokens, usage.prompt_tokens);
    assert.is(r.completionTokens, usage.completion_tokens);
    assert.ok(r.completionTokens > Math.ceil(JSON.stringify(json).length / 4), 'reasoning tokens are billed as completion tokens');
    // DeepSeek-R1: 1.35 USD per 1M input, 5.40 USD per 1M output (reference/azure-ai-inference.md §10).
    const expected = Math.round(((usage.prompt_tokens * 1.35) / 1e6 + (usage.completion_tokens * 5.4) / 1e6) * 1e12) / 1e12;
    assert.is(r.costUsd, expected);
    assert.ok(r.costUsd > 0);
    await ai.close();
  });
}

test('cost arithmetic on fixed token counts (reference/azure-ai-inference.md §10 prices)', () => {
  // 2,000 prompt + 1,000 completion tokens on DeepSeek-R1: 0.0027 + 0.0054 = 0.0081 USD.
  assert.is(costUsd(PRICES.r1, 2000, 1000), 0.0081);
  // 1,000,000 + 1,000,000 on DeepSeek-V3: 1.14 + 4.56 = 5.70 USD.
  assert.is(costUsd(PRICES.v3, 1_000_000, 1_000_000), 5.7);
});

test('generateJson routes to the cheapest text model and caches only the validated answer', async () => {
  const ai = coordinator();
  const req = {
    system: 'Answer with JSON only.',
    user: 'Label the trend: dance challenge in a kitchen.',
    schema: TREND_SCHEMA,
    schemaName: 'trend_label',
    context: { tenantId: 'acme', analysisId: 'an-route' },
  };
  const first = await ai.generateJson(req);
  assert.is(first.records[0]?.modelName, 'v3', 'DeepSeek-V3 is cheaper than R1');
  const calls = emu.calls.count({ route: 'chat/completions' });
  const again = await ai.generateJson(req);
  assert.equal(again.json, first.json);
  assert.is(again.records[0]?.cached, true);
  assert.is(emu.calls.count({ route: 'chat/completions' }), calls);
  await ai.close();
});

test('an answer that does not validate gets one repair call, then TerminalError invalid_model_output; nothing cached', async () => {
  const ai = coordinator([deployment(emu.endpoint, 'v3')]);
  const before = emu.calls.count({ route: 'chat/completions' });
  const req = {
    system: 'Answer with JSON only.',
    user: 'Label the trend: cats on skateboards.',
    schema: TREND_SCHEMA,
    schemaName: 'trend_label',
    maxTokens: 3, // the emulator truncates the JSON to 3 tokens: it cannot parse
    context: { tenantId: 'acme', analysisId: 'an-repair' },
  };
  const err = await rejection(ai.generateJson(req));
  assert.instance(err, TerminalError);
  assert.is((err as TerminalError).code, 'invalid_model_output');
  assert.match((err as TerminalError).message, /does not validate after one repair: \(root\): not JSON/);
  assert.is(emu.calls.count({ route: 'chat/completions' }), before + 2, 'the first call and one repair');
  const repairBody = emu.calls.lastBody('chat/completions') as { messages: Array<{ role: string; content: string }> };
  assert.equal(repairBody.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
  assert.match(repairBody.messages[3]?.content ?? '', /does not validate against the required JSON schema/);
  await rejection(ai.generateJson(req));
  assert.is(emu.calls.count({ route: 'chat/completions' }), before + 4, 'the invalid answer was not cached');
  await ai.close();
});

test('bad input is refused before any call, naming the field', async () => {
  const ai = coordinator();
  const before = emu.calls.records.length;
  const err = await rejection(ai.describeImage({ image: Buffer.from('GIF89a'), mimeType: 'image/jpeg', prompt: 'x', context: { tenantId: 'acme', analysisId: 'a' } }));
  assert.match(String((err as Error).message), /invalid describeImage request/);
  const schemaErr = await rejection(ai.generateJson({ system: 's', user: 'u', schema: { type: 'nope' }, schemaName: 'x', context: { tenantId: 'acme', analysisId: 'a' } }));
  assert.match(String((schemaErr as Error).message), /JSON schema of the request does not compile/);
  assert.is(emu.calls.records.length, before);
  assert.throws(
    () => coordinator([deployment(emu.endpoint, 'v3')], { allowInsecureConnection: false }),
    (e: unknown) => e instanceof ValidationError && e.render().includes('models[0].endpoint: is http: allowed only with allowInsecureConnection'),
  );
  assert.throws(
    () => coordinator([deployment(emu.endpoint, 'v3')], { apiVersion: '2023-05-15', keyPrefix: 'has space' }),
    (e: unknown) => e instanceof ValidationError && e.render().includes('apiVersion: must be one of 2025-04-01, 2024-05-01-preview') && e.render().includes('keyPrefix: must match'),
  );
  await ai.close();
});

test.run();
