/**
 * AnalysisStore.update under concurrency on ONE shared connection (as the worker shares its connection between
 * concurrent jobs): every read-modify-write lands, none is lost. WATCH/MULTI could not guarantee this (WATCH is per
 * connection, so one caller's EXEC ran under another caller's WATCH); the Lua compare-and-set does. And
 * AnalysisStore.create with one Idempotency-Key from two connections at once: one analysis.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRedis } from '../../services/platform/redis.ts';
import { AnalysisStore } from '../../services/analyses/store.ts';
import { NotFoundError } from '../../services/platform/errors.ts';
import { startTestStack } from '../support/stack.ts';

const stack = await startTestStack('store-concurrency');
const redis = createRedis(stack.redisUrl, 'general');
const store = new AnalysisStore(redis, stack.keyPrefix, 600);
test.after(async () => {
  redis.disconnect();
  await stack.close();
});

test('200 concurrent increments of one record on one connection all land', async () => {
  const { record } = await store.create({ tenantId: 't', videoKey: 'k', tier: 'pro', options: {} });
  await Promise.all(Array.from({ length: 200 }, () => store.markRunning(record.id)));
  const after = await store.get(record.id);
  assert.is(after?.attempts, 200);
  assert.is(after?.status, 'running');
  assert.ok((await redis.ttl(`${stack.keyPrefix}:analysis:${record.id}`)) > 0, 'the TTL is kept');
});

test('concurrent updates of different fields do not overwrite each other', async () => {
  const { record } = await store.create({ tenantId: 't', videoKey: 'k', tier: 'pro', options: {} });
  await Promise.all([
    ...Array.from({ length: 50 }, (_, i) => store.setProgress(record.id, 'vision', i)),
    ...Array.from({ length: 50 }, () => store.markRunning(record.id)),
  ]);
  const after = await store.get(record.id);
  assert.is(after?.attempts, 50);
  assert.is(after?.progress.step, 'vision');
});

test('one Idempotency-Key from two processes creates one analysis, however slow the first is between its writes', async () => {
  // Process A is slowed down after its first command: every MULTI it runs waits for the gate (a paused GC, a
  // preempted task). Meanwhile process B uses the same key. With the key and the record written in two steps, B saw
  // the key without its record, took it for stale and made a second analysis.
  const slow = createRedis(stack.redisUrl, 'general');
  const other = createRedis(stack.redisUrl, 'general');
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const multi = slow.multi.bind(slow);
  slow.multi = ((...args: Parameters<typeof slow.multi>) => {
    const tx = multi(...args);
    const exec = tx.exec.bind(tx);
    tx.exec = (async (...e: Parameters<typeof tx.exec>) => {
      await gate;
      return exec(...e);
    }) as typeof tx.exec;
    return tx;
  }) as typeof slow.multi;
  try {
    const input = { tenantId: 'race', videoKey: 'k', tier: 'pro' as const, options: {}, idempotencyKey: 'slow-first' };
    const a = new AnalysisStore(slow, stack.keyPrefix, 600).create(input);
    await new Promise((r) => setTimeout(r, 100));
    const b = await new AnalysisStore(other, stack.keyPrefix, 600).create(input);
    open();
    const first = await a;
    assert.is(b.record.id, first.record.id, 'both requests answer the same analysis');
    assert.equal([first.created, b.created], [true, false]);
    assert.is(await redis.zcard(store.tenantIndexKey('race')), 1, 'one index entry');
  } finally {
    open();
    slow.disconnect();
    other.disconnect();
  }
});

test('an Idempotency-Key whose analysis expired or was erased is taken over by a new one', async () => {
  const first = await store.create({ tenantId: 't', videoKey: 'k', tier: 'pro', options: {}, idempotencyKey: 'stale' });
  await redis.del(`${stack.keyPrefix}:analysis:${first.record.id}`);
  const again = await store.create({ tenantId: 't', videoKey: 'k', tier: 'pro', options: {}, idempotencyKey: 'stale' });
  assert.ok(again.created);
  assert.is.not(again.record.id, first.record.id);
  assert.is((await store.findByIdempotencyKey('t', 'stale'))?.id, again.record.id);
});

test('updating a missing record → NotFoundError', async () => {
  try {
    await store.markRunning('an_00000000000000000000000000000000');
    assert.unreachable('no error');
  } catch (err) {
    assert.instance(err, NotFoundError);
  }
});

test.run();
