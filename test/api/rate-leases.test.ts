/**
 * rate-leases.ts against real Redis (rate-limiter-flexible's RateLimiterRedis), several LeasedLimiters on one key
 * standing for several API processes: never more than the limit per window, at most `processes × (lease − 1)`
 * fewer, small limits exact, a busy key costs few Redis calls, leased points die with their window, a used-up key is
 * refused from memory.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import { setTimeout as delay } from 'node:timers/promises';
import { LeasedLimiter, type LeaseDecision, type LeaseOptions, type LeaseStore } from '../../services/api/rate-leases.ts';
import { startTestStack } from '../support/stack.ts';

const stack = await startTestStack('rate-leases');
const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 });

/** A RateLimiterRedis on `name`, counting the calls that reach it. */
function counter(name: string, points: number, windowSec: number): { store: LeaseStore; calls: () => number } {
  const real = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${stack.keyPrefix}:${name}`, points, duration: windowSec });
  let calls = 0;
  return {
    store: {
      consume: (key: string | number, n?: number): Promise<RateLimiterRes> => {
        calls++;
        return real.consume(key, n);
      },
    },
    calls: () => calls,
  };
}

/** `processes` limiters ("API processes") sharing one counter in Redis. */
function processes(name: string, count: number, points: number, windowSec: number, o: LeaseOptions = {}): { limiters: LeasedLimiter[]; calls: () => number } {
  const c = counter(name, points, windowSec);
  return { limiters: Array.from({ length: count }, () => new LeasedLimiter(c.store, points, windowSec, o)), calls: c.calls };
}

async function take(l: LeasedLimiter, key: string): Promise<LeaseDecision> {
  return l.tryConsume(key) ?? l.consume(key);
}

const leases = suite('LeasedLimiter');

leases('under concurrent load on four processes: never more than the limit, at most 4 × (lease − 1) fewer', async () => {
  const limit = 2000;
  const { limiters } = processes('burst', 4, limit, 60, { maxShare: 0.05 }); // leases up to 100 points
  const maxLease = limit * 0.05;
  let admitted = 0;
  // 3000 requests, 300 at a time, spread over the four processes.
  for (let round = 0; round < 10; round++) {
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => take(limiters[i % 4] as LeasedLimiter, 'k')));
    admitted += results.filter((r) => r.allowed).length;
  }
  assert.ok(admitted <= limit, `admitted ${admitted} > ${limit}`);
  assert.ok(admitted >= limit - 4 * (maxLease - 1), `admitted ${admitted}, more than 4 × (lease − 1) below ${limit}`);
  const counted = Number(await redis.get(`${stack.keyPrefix}:burst:k`));
  assert.ok(counted >= admitted, `Redis counted ${counted} < admitted ${admitted}`);
});

leases('a limit under 2 / maxShare is exact across processes, and a refusal says 0 left and when the window resets', async () => {
  const { limiters } = processes('small', 3, 5, 60);
  const answers: LeaseDecision[] = [];
  for (let i = 0; i < 8; i++) answers.push(await take(limiters[i % 3] as LeasedLimiter, 'k'));
  assert.equal(answers.map((a) => a.allowed), [true, true, true, true, true, false, false, false]);
  assert.equal(answers.slice(0, 5).map((a) => a.remaining), [4, 3, 2, 1, 0]);
  for (const refused of answers.slice(5)) {
    assert.is(refused.remaining, 0);
    assert.ok(refused.msBeforeReset > 0 && refused.msBeforeReset <= 60_000, `msBeforeReset ${refused.msBeforeReset}`);
  }
});

leases('a busy key costs few Redis calls; a quiet one costs one per request', async () => {
  const busy = processes('busy', 1, 10_000_000, 60);
  const [l] = busy.limiters;
  if (!l) throw new Error('no limiter');
  for (let round = 0; round < 50; round++) {
    const results = await Promise.all(Array.from({ length: 200 }, () => take(l, 'k')));
    assert.ok(results.every((r) => r.allowed));
  }
  assert.ok(busy.calls() < 200, `${busy.calls()} Redis calls for 10000 requests`);
  const counted = Number(await redis.get(`${stack.keyPrefix}:busy:k`));
  assert.ok(counted >= 10_000, `Redis counted ${counted}`);

  const quiet = processes('quiet', 1, 10_000_000, 60, { targetLeaseMs: 5 });
  const [q] = quiet.limiters;
  if (!q) throw new Error('no limiter');
  for (let i = 0; i < 5; i++) {
    await take(q, 'k');
    await delay(30); // slower than targetLeaseMs: the lease stays at one point
  }
  assert.is(quiet.calls(), 5);
});

leases('leased points die with their window: the next window is counted from a new lease', async () => {
  const { limiters, calls } = processes('window', 1, 1000, 2, { maxShare: 0.5 });
  const [l] = limiters;
  if (!l) throw new Error('no limiter');
  // Grow the lease: bursts of 20 concurrent requests.
  for (let i = 0; i < 4; i++) await Promise.all(Array.from({ length: 20 }, () => take(l, 'k')));
  const before = calls();
  assert.ok(l.tryConsume('k')?.allowed, 'the lease holds points');
  await delay(2100); // the 2 s window ends (Redis expires the counter)
  assert.is(l.tryConsume('k'), undefined, 'points of the ended window are not spent');
  assert.ok((await l.consume('k')).allowed);
  assert.is(calls(), before + 1);
  const counted = Number(await redis.get(`${stack.keyPrefix}:window:k`));
  assert.ok(counted >= 1, 'the new window counts the new lease');
});

leases('a used-up key is refused from memory until its window ends', async () => {
  const { limiters, calls } = processes('used-up', 1, 3, 60);
  const [l] = limiters;
  if (!l) throw new Error('no limiter');
  for (let i = 0; i < 3; i++) assert.ok((await take(l, 'k')).allowed);
  assert.not.ok((await take(l, 'k')).allowed);
  const after = calls();
  for (let i = 0; i < 20; i++) assert.not.ok((await take(l, 'k')).allowed);
  assert.is(calls(), after, 'no Redis call while refused');
  assert.ok((await take(l, 'other')).allowed, 'other keys are not affected');
});

leases('rejects impossible settings', () => {
  const { store } = counter('bad', 10, 60);
  assert.throws(() => new LeasedLimiter(store, 0, 60), /limit must be a positive integer/);
  assert.throws(() => new LeasedLimiter(store, 10, 1), /windowSec must be at least 2/);
  assert.throws(() => new LeasedLimiter(store, 10, 60, { maxShare: 0 }), /maxShare/);
});

leases.after(async () => {
  redis.disconnect();
  await stack.close();
});

leases.run();
