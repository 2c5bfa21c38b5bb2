/**
 * AnalysisStore.update under concurrency on ONE shared connection (as the worker shares its connection between
 * concurrent jobs): every read-modify-write lands, none is lost. WATCH/MULTI could not guarantee this (WATCH is per
 * connection, so one caller's EXEC ran under another caller's WATCH); the Lua compare-and-set does.
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

test('updating a missing record → NotFoundError', async () => {
  try {
    await store.markRunning('an_00000000000000000000000000000000');
    assert.unreachable('no error');
  } catch (err) {
    assert.instance(err, NotFoundError);
  }
});

test.run();
