/**
 * The Redis-backed parts against a real Redis: the shared RPM/TPM limiter (reservations, correction, holds,
 * server hints), the usage ledger (counters per tenant-day and analysis, atomic daily budget) and the cache.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { LuaScript } from '../../services/ai/lua-script.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { QuotaLimiter } from '../../services/ai/quota-limiter.ts';
import { UsageLedger, utcDay } from '../../services/ai/usage-ledger.ts';
import { cacheIndexKey, ResponseCache } from '../../services/ai/response-cache.ts';
import type { ModelDeployment } from '../../services/ai/model-deployment.ts';
import type { ModelCallRecord } from '../../services/analyses/types.ts';
import { QuotaExceededError } from '../../services/platform/errors.ts';
import { createLogger } from '../../services/platform/logger.ts';

let stack: TestStack;
let redis: Redis;
let redis2: Redis;

test.before(async () => {
  stack = await startTestStack('ai-quota');
  redis = new Redis(stack.redisUrl);
  redis2 = new Redis(stack.redisUrl);
});

test.after(async () => {
  redis.disconnect();
  redis2.disconnect();
  await stack.close();
});

function model(name: string, rpm: number, tpm: number): ModelDeployment {
  return {
    name,
    use: ['text'],
    endpoint: 'https://x.services.ai.azure.com/models',
    model: name,
    quota: { requestsPerMinute: rpm, tokensPerMinute: tpm },
    pricePer1MTokens: { input: 1, output: 1 },
  };
}

test('RPM is shared by two limiters on two connections, and the refusal says how long to wait', async () => {
  const a = new QuotaLimiter(redis, stack.keyPrefix);
  const b = new QuotaLimiter(redis2, stack.keyPrefix);
  const m = model('rpm3', 3, 1_000_000);
  const results = await Promise.all([a, b, a, b, a, b].map((l) => l.tryReserve(m, 10)));
  assert.is(results.filter((r) => r.granted).length, 3);
  for (const r of results) if (!r.granted) assert.ok(r.waitMs > 55_000 && r.waitMs <= 60_000, `wait ${r.waitMs}`);
});

test('TPM counts reservations; settle corrects them to real usage; a request above TPM never fits', async () => {
  const l = new QuotaLimiter(redis, stack.keyPrefix);
  const m = model('tpm1000', 100, 1000);
  const first = await l.tryReserve(m, 800);
  assert.ok(first.granted);
  const second = await l.tryReserve(m, 300);
  assert.is(second.granted, false, '800 + 300 > 1000');
  if (first.granted) await l.settle(first.reservation, 150);
  const third = await l.tryReserve(m, 300);
  assert.ok(third.granted, '150 + 300 fits after the correction');
  const huge = await l.tryReserve(m, 1001);
  assert.equal(huge, { granted: false, neverFits: true, waitMs: 0 });
});

test('a hold (from retry-after) pauses every limiter for that deployment only, and is never shortened', async () => {
  const l = new QuotaLimiter(redis, stack.keyPrefix);
  const other = new QuotaLimiter(redis2, stack.keyPrefix);
  const m = model('held', 100, 100_000);
  await l.hold('held', 5_000);
  await l.hold('held', 100);
  const r = await other.tryReserve(m, 1);
  assert.is(r.granted, false);
  // The limiter answers the hold's remaining PTTL + 1 ms, so that a waiter wakes after the hold has expired.
  if (!r.granted) assert.ok(r.waitMs > 4_000 && r.waitMs <= 5_001, `wait ${r.waitMs}`);
  assert.ok((await other.tryReserve(model('free', 100, 100_000), 1)).granted);
});

test('x-ratelimit-remaining-* lower the pace until their reset; -1 is ignored', async () => {
  const l = new QuotaLimiter(redis, stack.keyPrefix);
  const m = model('hinted', 100, 100_000);
  await l.observe('hinted', { 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-remaining-tokens': '1014', 'x-ratelimit-reset-tokens': '20s' });
  const big = await l.tryReserve(m, 2000);
  assert.is(big.granted, false, 'the server has 1014 tokens left');
  if (!big.granted) assert.ok(big.waitMs > 15_000 && big.waitMs <= 20_000, `wait ${big.waitMs}`);
  assert.ok((await l.tryReserve(m, 1000)).granted);
  assert.is((await l.tryReserve(m, 100)).granted, false, 'the granted reservation used the remaining tokens');
  await l.observe('hinted', { 'x-ratelimit-remaining-requests': '-1', 'x-ratelimit-remaining-tokens': '-1' });
  assert.is((await l.tryReserve(m, 100)).granted, false, 'nonsense headers change nothing');
  const m2 = model('hinted-req', 100, 100_000);
  await l.observe('hinted-req', { 'x-ratelimit-remaining-requests': '0' });
  const r = await l.tryReserve(m2, 1);
  assert.is(r.granted, false);
  if (!r.granted) assert.ok(r.waitMs <= 1_000, 'default hint lifetime is 1 s');
});

function record(modelName: string, promptTokens: number, completionTokens: number, cost: number, cached = false): ModelCallRecord {
  return { task: 'text', modelName, model: modelName, promptTokens, completionTokens, costUsd: cost, durationMs: 5, cached };
}

test('usage counters per tenant-day and per analysis, by model', async () => {
  const ledger = new UsageLedger(redis, stack.keyPrefix);
  const day = utcDay();
  await ledger.record('acme', 'an-1', day, record('r1', 1000, 500, 0.00405), 0);
  await ledger.record('acme', 'an-1', day, record('r1', 0, 0, 0, true), 0);
  await ledger.record('acme', 'an-2', day, record('vision', 1610, 90, 0.000629), 0);
  const dayUsage = await ledger.readDay('acme', day);
  assert.equal(dayUsage.byModel.r1, { promptTokens: 1000, completionTokens: 500, costUsd: 0.00405, calls: 2, cachedCalls: 1 });
  assert.equal(dayUsage.byModel.vision, { promptTokens: 1610, completionTokens: 90, costUsd: 0.000629, calls: 1, cachedCalls: 0 });
  assert.is(dayUsage.totalCostUsd, 0.004679);
  const an1 = await ledger.readAnalysis('acme', 'an-1');
  assert.equal(Object.keys(an1.byModel), ['r1']);
  assert.ok(await redis.exists(`${stack.keyPrefix}:usage:acme:${day}`));
  assert.ok((await redis.ttl(`${stack.keyPrefix}:usage:acme:${day}`)) > 30 * 86_400);
});

test('daily budget: concurrent reservations on two connections never overshoot; release and record settle them', async () => {
  const budget = (t: string): number | undefined => (t === 'small' ? 0.01 : undefined);
  const a = new UsageLedger(redis, stack.keyPrefix, { dailyBudgetUsd: budget });
  const b = new UsageLedger(redis2, stack.keyPrefix, { dailyBudgetUsd: budget });
  const day = utcDay();
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).reserve('small', day, 0.003)));
  const granted = outcomes.filter((o) => o.status === 'fulfilled');
  assert.is(granted.length, 3, '3 × 0.003 fits in 0.01, a 4th does not');
  const refused = outcomes.find((o) => o.status === 'rejected');
  assert.ok(refused && refused.status === 'rejected' && refused.reason instanceof QuotaExceededError);
  if (refused?.status === 'rejected' && refused.reason instanceof QuotaExceededError) {
    assert.is(refused.reason.code, 'budget_exceeded');
    assert.ok(refused.reason.retryAfterMs > 0 && refused.reason.retryAfterMs <= 86_400_000);
  }
  assert.is((await a.readDay('small', day)).reservedUsd, 0.009);
  await a.release('small', day, 0.003);
  await a.record('small', 'an', day, record('m', 100, 100, 0.001), 0.003);
  const u = await a.readDay('small', day);
  assert.is(u.reservedUsd, 0.003);
  assert.is(u.totalCostUsd, 0.001);
  assert.is(await a.reserve('no-budget-tenant', day, 99), 0, 'tenants without a budget are not limited');
});

test('response cache: first hit in order, misses on damaged entries, erasure index, off with ttl 0', async () => {
  const log = createLogger('t', 'silent');
  const cache = new ResponseCache(redis, stack.keyPrefix, 60, log);
  assert.is(await cache.first(['h1', 'h2']), undefined);
  await cache.put('h2', { text: 'two', modelName: 'b', model: 'B' }, 'an-cache');
  const index = cacheIndexKey(stack.keyPrefix, 'an-cache');
  assert.equal(await redis.smembers(index), ['h2'], 'the entry is listed for the analysis that stored it');
  const indexTtl = await redis.ttl(index);
  assert.ok(indexTtl > 50 && indexTtl <= 60, `index ttl ${indexTtl}`);
  await redis.expire(index, 5);
  await cache.put('h3', { text: 'three', modelName: 'b', model: 'B' }, 'an-cache');
  assert.ok((await redis.ttl(index)) > 50, 'a new entry lengthens the index to the cache TTL');
  await redis.set(`${stack.keyPrefix}:ai:cache:h1`, '{not json');
  const hit = await cache.first(['h1', 'h2']);
  assert.is(hit?.hash, 'h2');
  assert.is(hit?.answer.text, 'two');
  assert.ok((await redis.ttl(`${stack.keyPrefix}:ai:cache:h2`)) > 50);
  const off = new ResponseCache(redis, stack.keyPrefix, 0, log);
  assert.is(await off.first(['h2']), undefined);
});

test('LuaScript loads itself on NOSCRIPT and then runs by SHA1', async () => {
  const script = new LuaScript(`-- ${randomUUID()}\nreturn ARGV[1] .. KEYS[1]`);
  assert.is(await redis.script('EXISTS', script.sha1).then((r) => (r as number[])[0]), 0);
  assert.is(await script.run(redis, ['k'], ['v']), 'vk');
  assert.is(await redis.script('EXISTS', script.sha1).then((r) => (r as number[])[0]), 1);
  assert.is(await script.run(redis2, ['k2'], [1]), '1k2');
});

test.run();
