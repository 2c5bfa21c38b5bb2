/**
 * The admission gate (services/ai/admission-gate.ts): a model request is built during its call's admission round trip
 * and leaves the process only if admission grants it. Against the AI emulator over HTTP, behind a holding proxy that
 * counts what arrives: a closed gate sends nothing, an open one sends once it opens, the attempt's timeout runs from
 * the opening, and a coordinated call refused by its budget, or answered from the Redis cache, sends nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AzureKeyCredential } from '@azure/core-auth';
import { createHttpHeaders, createPipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { Redis } from 'ioredis';
import { admissionGatePolicy, gateRequest, GATED_HEADER, NotSentError } from '../../services/ai/admission-gate.ts';
import { chatBody, type ChatPrompt } from '../../services/ai/chat-request.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { sendGatedAttempt } from '../../services/ai/model-attempt.ts';
import { ModelClients } from '../../services/ai/model-clients.ts';
import { QuotaExceededError } from '../../services/platform/errors.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, deployment, makeKeyframeJpegs } from './support/ai-harness.ts';
import { startHoldingProxy, type HoldingProxy } from './support/holding-proxy.ts';

const KEY = 'dev-key-admission-gate';
let stack: TestStack;
let redis: Redis;
let jpeg: Buffer;
let proxy: HoldingProxy;

test.before(async () => {
  let frames: Buffer[];
  [stack, frames] = await Promise.all([startTestStack('ai-gate', { ai: { models: EMULATOR_MODELS, apiKeys: [KEY] } }), makeKeyframeJpegs([1])]);
  jpeg = frames[0]!;
  redis = new Redis(stack.redisUrl);
});

test.before.each(async () => {
  const emu = stack.ai;
  if (!emu) throw new Error('the stack has no AI emulator');
  proxy = await startHoldingProxy(emu.baseUrl);
});

test.after.each(async () => {
  await proxy.close();
});

test.after(async () => {
  redis.disconnect();
  await stack.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A gated attempt of a short text prompt through the proxy. */
function gated(gate: Promise<boolean>, timeoutMs = 10_000) {
  const m = deployment(proxy.endpoint, 'v3');
  const clients = new ModelClients({ credential: new AzureKeyCredential(KEY), apiVersion: '2025-04-01', allowInsecureConnection: true });
  const prompt: ChatPrompt = { task: 'text', messages: [{ role: 'user', content: 'Name one trend.' }], maxTokens: 50 };
  return sendGatedAttempt(clients.get(m), chatBody(prompt, m), { timeoutMs, signal: new AbortController().signal, estimate: { promptTokens: 10, completionTokens: 50 } }, gate);
}

test('the policy: unmarked requests pass; a marked one waits for its gate, loses the mark, and fails closed without one', async () => {
  const policy = admissionGatePolicy();
  const sent: Array<{ marked: boolean }> = [];
  const next = async (req: ReturnType<typeof createPipelineRequest>): Promise<PipelineResponse> => {
    sent.push({ marked: req.headers.has(GATED_HEADER) });
    return { request: req, status: 200, headers: createHttpHeaders() };
  };
  const request = (marked: boolean, signal = new AbortController().signal) =>
    createPipelineRequest({ url: 'https://x.services.ai.azure.com/models/chat/completions', headers: createHttpHeaders(marked ? { [GATED_HEADER]: '1' } : {}), abortSignal: signal });
  await policy.sendRequest(request(false), next);
  const open = new AbortController().signal;
  gateRequest(open, Promise.resolve(true));
  await policy.sendRequest(request(true, open), next);
  assert.equal(sent, [{ marked: false }, { marked: false }], 'both sent, the mark removed');
  const orphan = await policy.sendRequest(request(true), next).catch((err: unknown) => err);
  assert.ok(orphan instanceof NotSentError, 'a marked request whose gate cannot be found is dropped');
  assert.is(sent.length, 2);
});

test('a closed gate sends nothing: the attempt reads as not sent', async () => {
  const outcome = await gated(Promise.resolve(false));
  assert.equal(outcome, { kind: 'not_sent' });
  const rejected = await gated(Promise.reject(new Error('redis down')));
  assert.equal(rejected, { kind: 'not_sent' }, 'a failed admission counts as closed');
  await sleep(50);
  assert.is(proxy.arrivedCount(), 0);
});

test('an open gate sends the request once it opens; the timeout runs from the opening, not from the build', async () => {
  let open!: (v: boolean) => void;
  const attempt = gated(new Promise<boolean>((r) => (open = r)), 1_000);
  await sleep(1_200); // past the timeout, had it started with the build
  assert.is(proxy.arrivedCount(), 0, 'held at the gate');
  open(true);
  await proxy.arrived(1);
  proxy.release(0);
  const outcome = await attempt;
  assert.is(outcome.kind, 'ok', JSON.stringify(outcome));
});

test('a coordinated call refused by its budget, or answered from the Redis cache, sends no model request', async () => {
  const make = (budget: number) =>
    createAiCoordinator({
      models: [deployment(proxy.endpoint, 'vision')],
      credential: new AzureKeyCredential(KEY),
      redis,
      keyPrefix: `${stack.keyPrefix}:gate:${budget}`,
      allowInsecureConnection: true,
      dailyBudgetUsd: budget,
    });
  const ask = (ai: ReturnType<typeof make>, analysisId: string) => ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'Describe the frame.', context: { tenantId: 'gate', analysisId } });

  const poor = make(0.000_001);
  const refused = await ask(poor, 'an-poor').catch((err: unknown) => err);
  assert.ok(refused instanceof QuotaExceededError && refused.code === 'budget_exceeded', String(refused));
  await sleep(50);
  assert.is(proxy.arrivedCount(), 0, 'the request built during admission was dropped');
  await poor.close();

  const writer = make(5);
  const first = ask(writer, 'an-1');
  await proxy.arrived(1);
  proxy.release(0);
  assert.is((await first).record.cached, false);
  await writer.close(); // its cache entry is in Redis
  const reader = make(5); // a new process: nothing in memory, the hit comes from Redis
  const hit = await ask(reader, 'an-2');
  assert.is(hit.record.cached, true);
  await sleep(50);
  assert.is(proxy.arrivedCount(), 1, 'no second model request');
  await reader.close();
});

test.run();
