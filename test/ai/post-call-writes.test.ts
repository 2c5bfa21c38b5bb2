/**
 * The coordinator's post-call write (quota settlement, usage, cache entry and erasure index) is off the caller's
 * critical path (services/ai/pending-writes.ts), against the AI emulator over HTTP and a Redis of this file's own
 * (test/support/stack.ts `redis: 'dedicated'`), which the tests pause with `CLIENT PAUSE … WRITE` or stop.
 * A holding proxy between coordinator and emulator keeps each model answer until the test lets it go, so the test
 * changes Redis after the call's admission and before its write, deterministically.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AzureKeyCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { spawnRedis } from '../../devstack/standins/redis.ts';
import { createAiCoordinator, type AiCoordinatorOptions } from '../../services/ai/coordinator.ts';
import { cacheIndexKey } from '../../services/ai/response-cache.ts';
import { UsageLedger, utcDay } from '../../services/ai/usage-ledger.ts';
import { createRedis } from '../../services/platform/redis.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, capturedLogger, deployment, makeKeyframeJpegs } from './support/ai-harness.ts';
import { startHoldingProxy, type HoldingProxy } from './support/holding-proxy.ts';

const KEY = 'dev-key-post-call-writes';
let stack: TestStack;
let jpeg: Buffer;
/** The coordinator's connection, an observer's and an admin's (CLIENT PAUSE / UNPAUSE). */
let redis: Redis;
let observer: Redis;
let admin: Redis;
let n = 0;

test.before(async () => {
  let frames: Buffer[];
  [stack, frames] = await Promise.all([startTestStack('ai-post-call', { redis: 'dedicated', ai: { models: EMULATOR_MODELS, apiKeys: [KEY] } }), makeKeyframeJpegs([1])]);
  jpeg = frames[0]!;
  redis = new Redis(stack.redisUrl);
  observer = new Redis(stack.redisUrl);
  admin = new Redis(stack.redisUrl);
});

test.after(async () => {
  await admin.call('CLIENT', 'UNPAUSE');
  for (const r of [redis, observer, admin]) r.disconnect();
  await stack.close();
});

/** A coordinator for the vision deployment behind `proxy`, on `conn`, under a key prefix of its own. */
function coordinator(proxy: HoldingProxy, over: Partial<AiCoordinatorOptions> = {}) {
  const keyPrefix = `${stack.keyPrefix}:${++n}`;
  const registry = new Registry();
  const ai = createAiCoordinator({
    models: [deployment(proxy.endpoint, 'vision')],
    credential: new AzureKeyCredential(KEY),
    redis,
    keyPrefix,
    allowInsecureConnection: true,
    timeoutMs: 10_000,
    dailyBudgetUsd: 5,
    metricsRegistry: registry,
    ...over,
  });
  return { ai, keyPrefix, registry };
}

async function holdingProxy(): Promise<HoldingProxy> {
  const emu = stack.ai;
  if (!emu) throw new Error('the stack has no AI emulator');
  return startHoldingProxy(emu.baseUrl);
}

/** Value of a metric without labels in `registry`. */
async function metric(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`metric ${name} is not registered`);
  return (await m.get()).values.reduce((s, v) => s + v.value, 0);
}

/** Pauses every write command of the dedicated Redis (reads go on) until {@link unpause}; 30 s at most. */
async function pauseWrites(): Promise<void> {
  await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
}

async function unpause(): Promise<void> {
  await admin.call('CLIENT', 'UNPAUSE');
}

/** Waits until `cond()` holds, looking every 5 ms; fails after `timeoutMs`. */
async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Tracks whether a promise has settled. */
function watch<T>(p: Promise<T>): { p: Promise<T>; done(): boolean } {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  return { p, done: () => done };
}

test('a call answers before its post-call write is applied; the write is ordered on its connection, and settle() waits for it', async () => {
  const proxy = await holdingProxy();
  const { ai, keyPrefix, registry } = coordinator(proxy);
  const ledger = new UsageLedger(observer, keyPrefix);
  const ctx = { tenantId: 'acme', analysisId: 'an-order' };
  const day = utcDay();
  try {
    const call = ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'Describe this keyframe.', context: ctx });
    await proxy.arrived(1);
    const reserved = (await ledger.readDay('acme', day)).reservedUsd;
    assert.ok(reserved > 0, 'the worst-case cost is reserved before the model call');
    await pauseWrites();
    proxy.release(0);
    const r = await call;
    assert.ok(r.record.costUsd > 0 && !r.record.cached);
    assert.is(await metric(registry, 'ai_post_call_writes_pending'), 1, 'its write is in flight');

    // Redis has not applied it: the budget still holds the worst case, and nothing is counted or cached.
    const settling = watch(ai.settle());
    const sameConnection = ai.usage.readAnalysis('acme', 'an-order'); // sent after the write, on its connection
    assert.equal(await ledger.readAnalysis('acme', 'an-order'), { byModel: {}, totalCostUsd: 0, reservedUsd: 0 });
    assert.is((await ledger.readDay('acme', day)).reservedUsd, reserved, 'over-reserved, never under');
    assert.is(await observer.exists(cacheIndexKey(keyPrefix, 'an-order')), 0);
    assert.is(settling.done(), false, 'settle() waits for the write Redis is holding');

    await unpause();
    await settling.p;
    const expected = { promptTokens: r.record.promptTokens, completionTokens: r.record.completionTokens, costUsd: r.record.costUsd, calls: 1, cachedCalls: 0 };
    assert.equal((await ledger.readAnalysis('acme', 'an-order')).byModel.vision, expected, 'after settle(), another connection reads the usage');
    assert.equal((await sameConnection).byModel.vision, expected, 'a read sent later on the same connection came after the write');
    const dayUsage = await ledger.readDay('acme', day);
    assert.equal([dayUsage.reservedUsd, dayUsage.totalCostUsd], [0, r.record.costUsd], 'the reservation was swapped for the real cost');
    assert.is(await observer.scard(cacheIndexKey(keyPrefix, 'an-order')), 1, 'the cache entry is listed for erasure');
    assert.is(await metric(registry, 'ai_post_call_writes_pending'), 0);
    assert.is(await metric(registry, 'ai_post_call_write_failures_total'), 0);
  } finally {
    await unpause();
    await ai.close();
    await proxy.close();
  }
});

test('the same request again before its cache write is applied is answered from the entry on its way: no second model call', async () => {
  const proxy = await holdingProxy();
  const { ai, keyPrefix } = coordinator(proxy);
  const ledger = new UsageLedger(observer, keyPrefix);
  const ask = (analysisId: string) => ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'Describe this repeated keyframe.', context: { tenantId: 'acme', analysisId } });
  try {
    const call = ask('an-first');
    await proxy.arrived(1);
    await pauseWrites(); // the first call's write (entry included) will wait in Redis
    proxy.release(0);
    const first = await call;
    assert.is(first.record.cached, false);
    const again = await ask('an-again'); // a write-paused Redis would hold an admission script too
    assert.equal([again.record.cached, again.record.costUsd, again.text], [true, 0, first.text]);
    assert.is(proxy.arrivedCount(), 1, 'no second model request');
    assert.equal((await ledger.readAnalysis('acme', 'an-first')).byModel, {}, 'Redis has applied nothing yet');

    await unpause();
    await ai.settle();
    assert.equal((await ledger.readDay('acme', utcDay())).byModel.vision?.calls, 2);
    assert.is((await ledger.readAnalysis('acme', 'an-again')).byModel.vision?.cachedCalls, 1);
    assert.is(await observer.scard(cacheIndexKey(keyPrefix, 'an-again')), 1, 'the hit is listed for erasure too');
    const third = await ask('an-third'); // from Redis now
    assert.equal([third.record.cached, proxy.arrivedCount()], [true, 1]);
  } finally {
    await unpause();
    await ai.close();
    await proxy.close();
  }
});

test('with the in-flight bound reached, the caller waits for its own write; nothing is lost', async () => {
  const proxy = await holdingProxy();
  const { ai, keyPrefix, registry } = coordinator(proxy, { maxPendingWrites: 2 });
  const ledger = new UsageLedger(observer, keyPrefix);
  const ask = (i: number) => watch(ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: `Describe keyframe ${i}.`, context: { tenantId: 'acme', analysisId: 'an-bound' } }));
  try {
    const calls = [ask(0), ask(1), ask(2)];
    await proxy.arrived(3);
    await pauseWrites();
    proxy.release(0);
    await calls[0]!.p;
    proxy.release(1);
    await calls[1]!.p;
    assert.is(await metric(registry, 'ai_post_call_writes_pending'), 2, 'two answers returned with their writes held by Redis');
    proxy.release(2);
    await until('the third write is sent', async () => (await metric(registry, 'ai_post_call_writes_pending')) === 3);
    assert.is(calls[2]!.done(), false, 'the third caller waits: its write is beyond the bound of 2');
    assert.equal((await ledger.readAnalysis('acme', 'an-bound')).byModel, {}, 'Redis applied none of them yet');

    await unpause();
    const third = await calls[2]!.p;
    assert.is(third.record.cached, false);
    // The third write was the last one sent on the connection: once its caller has it back, all three are applied.
    const u = await ledger.readAnalysis('acme', 'an-bound');
    assert.is(u.byModel.vision?.calls, 3);
    assert.is(await observer.scard(cacheIndexKey(keyPrefix, 'an-bound')), 3);
    await ai.settle();
    assert.is(await metric(registry, 'ai_post_call_writes_pending'), 0);
  } finally {
    await unpause();
    await ai.close();
    await proxy.close();
  }
});

test('close() waits for the writes in flight before the connection may go', async () => {
  const proxy = await holdingProxy();
  const { ai, keyPrefix } = coordinator(proxy);
  const ledger = new UsageLedger(observer, keyPrefix);
  try {
    const call = ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'Describe this keyframe before shutdown.', context: { tenantId: 'acme', analysisId: 'an-close' } });
    await proxy.arrived(1);
    await pauseWrites();
    proxy.release(0);
    const r = await call;
    const closing = watch(ai.close());
    assert.equal((await ledger.readAnalysis('acme', 'an-close')).byModel, {});
    assert.is(closing.done(), false, 'close() waits for the held write');
    await unpause();
    await closing.p;
    assert.is((await ledger.readAnalysis('acme', 'an-close')).totalCostUsd, r.record.costUsd);
  } finally {
    await unpause();
    await ai.close();
    await proxy.close();
  }
});

test('a Redis failure on the post-call write is logged without secrets and counted, and does not fail the call', async () => {
  // A Redis of its own, stopped between the call's admission and its answer.
  const doomed = await spawnRedis();
  const conn = createRedis(doomed.url, 'general'); // the worker's settings: 3 reconnect attempts, then the command fails
  conn.on('error', () => undefined);
  const proxy = await holdingProxy();
  const log = capturedLogger();
  const registry = new Registry();
  const ai = createAiCoordinator({
    models: [deployment(proxy.endpoint, 'vision')],
    credential: new AzureKeyCredential(KEY),
    redis: conn,
    keyPrefix: `${stack.keyPrefix}:doomed`,
    allowInsecureConnection: true,
    timeoutMs: 10_000,
    logger: log.logger,
    metricsRegistry: registry,
  });
  try {
    const call = ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: 'Describe this keyframe as Redis goes.', context: { tenantId: 'acme', analysisId: 'an-lost' } });
    await proxy.arrived(1);
    await doomed.close();
    proxy.release(0);
    const r = await call;
    assert.ok(r.text.length > 0 && r.record.costUsd > 0, 'the answer is returned with its cost');
    await ai.settle();
    assert.is(await metric(registry, 'ai_post_call_write_failures_total'), 1);
    assert.is(await metric(registry, 'ai_post_call_writes_pending'), 0);
    const line = log.text().split('\n').find((l) => l.includes('could not be recorded'));
    assert.ok(line, log.text());
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal([entry.tenantId, entry.analysisId, entry.modelName, entry.costUsd], ['acme', 'an-lost', 'vision', r.record.costUsd]);
    assert.type(entry.err, 'string');
    assert.not.ok(log.text().includes(KEY), 'the API key is never logged');
  } finally {
    await ai.close();
    conn.disconnect();
    await proxy.close();
  }
});

test.run();
