import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { Redis } from 'ioredis';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { LeaderLock } from '../../controller/leader-lock.ts';
import { ReconcileLoop, type LoopEvents } from '../../controller/loop.ts';
import { ReportHistory, reportKeys } from '../../controller/report/history.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const WORKER = 'service/content-trends-dev/content-trends-dev-worker-Service-WORKER1x2Y3z';

let emu: AwsEmulator;
let stack: TestStack;
const redisConnections: Redis[] = [];
const clientSets: ReturnType<typeof clientsFor>[] = [];

function redis(): Redis {
  const r = new Redis(stack.redisUrl);
  redisConnections.push(r);
  return r;
}

/** One replica: its own Redis connection, lease holder id and AWS clients. */
function replica(id: string, loadDesired: () => Promise<typeof DEV> = async () => DEV): { loop: ReconcileLoop; lock: LeaderLock; events: string[] } {
  const conn = redis();
  const clients = clientsFor(emu.endpoint);
  clientSets.push(clients);
  const lock = new LeaderLock(conn, `${stack.keyPrefix}:reconciler:leader`, id, { ttlMs: 5_000 });
  const loop = new ReconcileLoop(
    { loadDesired, source: 'desired-state/dev.yml', reconcile: { ...clients, taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 4 } }, lock, history: new ReportHistory(conn, stack.keyPrefix, 3) },
    { defaultIntervalMs: 60_000 },
  );
  const events: string[] = [];
  for (const name of ['passStarted', 'passFinished', 'passFailed', 'passSkipped', 'leadership'] as const) {
    loop.on(name, ((arg?: LoopEvents[typeof name][0]) => {
      events.push(name === 'leadership' ? `leadership:${String((arg as { leader: boolean }).leader)}` : name);
    }) as never);
  }
  return { loop, lock, events };
}

async function driftWorkerMax(max: number): Promise<void> {
  const { autoscaling, ecs } = clientsFor(emu.endpoint);
  try {
    await autoscaling.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: WORKER, ScalableDimension: 'ecs:service:DesiredCount', MaxCapacity: max }));
  } finally {
    autoscaling.destroy();
    ecs.destroy();
  }
  emu.resetCalls();
}

const loops = suite('ReconcileLoop: leader lease, history, stop');

loops.before(async () => {
  [emu, stack] = await Promise.all([startAwsEmulator(), startTestStack('loop')]);
  await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
});

loops.after(async () => {
  for (const c of clientSets) {
    c.ecs.destroy();
    c.autoscaling.destroy();
  }
  for (const r of redisConnections) r.disconnect();
  await Promise.all([emu.close(), stack.close()]);
});

loops('of two replicas only the lease holder acts; the other skips; after stop() the other takes over', async () => {
  const a = replica('replica-a');
  const b = replica('replica-b');
  await driftWorkerMax(10);
  await a.loop.runOnce();
  await b.loop.runOnce();
  assert.equal(a.events, ['leadership:true', 'passStarted', 'passFinished']);
  assert.equal(b.events, ['passSkipped']);
  assert.is(emu.callCount('RegisterScalableTarget'), 1, 'one correction, by the leader');
  assert.is(await redis().get(`${stack.keyPrefix}:reconciler:leader`), 'replica-a');

  await a.loop.stop();
  assert.is(await redis().get(`${stack.keyPrefix}:reconciler:leader`), null, 'stop() released the lease');
  assert.equal(a.events.slice(-1), ['leadership:false']);
  await driftWorkerMax(11);
  await b.loop.runOnce();
  assert.equal(b.events.slice(-3), ['leadership:true', 'passStarted', 'passFinished']);
  assert.is(emu.callCount('RegisterScalableTarget'), 1, 'the new leader corrected the new drift');
  await b.loop.stop();
});

loops('reports go to <prefix>:drift:latest and a history trimmed to its length', async () => {
  const r = replica('replica-h');
  for (let i = 0; i < 4; i++) await r.loop.runOnce();
  await r.loop.stop();
  const keys = reportKeys(stack.keyPrefix);
  const conn = redis();
  assert.is(await conn.llen(keys.history), 3);
  const latest = JSON.parse((await conn.get(keys.latest))!) as { kind: string; metadata: { passId: string } };
  const newest = JSON.parse((await conn.lindex(keys.history, 0))!) as { metadata: { passId: string } };
  assert.is(latest.kind, 'DriftReport');
  assert.is(newest.metadata.passId, latest.metadata.passId);
});

loops('a renewal that finds the lease taken reports the loss; release never deletes another holder\'s lease', async () => {
  const lockConn = redis();
  const lock = new LeaderLock(lockConn, `${stack.keyPrefix}:lease-test`, 'me', { ttlMs: 3_000, renewEveryMs: 20 });
  assert.ok(await lock.tryAcquire());
  assert.ok(await lock.tryAcquire(), 'acquiring again while holding it renews');
  const lost = new Promise<string>((resolve) => lock.startRenewing(resolve));
  await lockConn.set(`${stack.keyPrefix}:lease-test`, 'someone-else');
  assert.is(await lost, 'lease taken or expired');
  assert.not.ok(lock.isLeader);
  await lock.release();
  assert.is(await lockConn.get(`${stack.keyPrefix}:lease-test`), 'someone-else', 'release never deletes another holder\'s lease');
});

loops('an invalid desired state fails the pass with its problems and writes nothing', async () => {
  const r = replica('replica-v', async () => {
    throw new ValidationError('invalid desired state x.yml (1 problem):', [{ where: 'x.yml:3:1 /spec', message: 'missing required key "ecs"' }]);
  });
  let failure = '';
  r.loop.on('passFailed', ({ error }) => (failure = error));
  emu.resetCalls();
  await r.loop.runOnce();
  await r.loop.stop();
  assert.is(failure, 'invalid desired state x.yml (1 problem):\n  - x.yml:3:1 /spec: missing required key "ecs"');
  assert.is(emu.callCount(), 0);
});

loops.run();
