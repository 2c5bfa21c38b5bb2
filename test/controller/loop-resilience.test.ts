/**
 * The loop under trouble (issue 3 point 4), against the AWS emulator over HTTP and real Redis:
 * per-resource back-off of failed writes (others go on at the normal interval; doubling, cap, reset on
 * success), an immediate pass when the watched desired-state file changes (a bad edit is reported and the last
 * valid document keeps running), stop() finishing the write in flight before releasing the lease, and a
 * standby replica taking over from a SIGKILLed leader that never released its lease.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeScalableTargetsCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { Redis } from 'ioredis';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { loadDesiredState, parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { LeaderLock } from '../../controller/leader-lock.ts';
import { ReconcileLoop, type LoopEvents } from '../../controller/loop.ts';
import { ResourceBackoff } from '../../controller/resource-backoff.ts';
import { ReportHistory } from '../../controller/report/history.ts';
import type { DriftReport } from '../../controller/types.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV_TEXT = readFileSync('desired-state/dev.yml', 'utf8');
const DEV = parseDesiredState(DEV_TEXT, 'desired-state/dev.yml', {});
const CLUSTER = 'content-trends-dev';
const WORKER = `service/${CLUSTER}/content-trends-dev-worker-Service-WORKER1x2Y3z`;
const API = 'content-trends-dev-api-Service-API1x2Y3z';

let emu: AwsEmulator;
let stack: TestStack;
let aws: ReturnType<typeof clientsFor>;
const redisConnections: Redis[] = [];
const clientSets: ReturnType<typeof clientsFor>[] = [];
const tempDirs: string[] = [];

function redis(): Redis {
  const r = new Redis(stack.redisUrl);
  redisConnections.push(r);
  return r;
}

/** A loop with its own Redis connection, lease and clients; `now` is the pass clock (back-off uses it). */
function replica(
  id: string,
  o: { loadDesired?: () => Promise<DesiredState>; now?: () => Date; watchFile?: string; ttlMs?: number; lockKey?: string } = {},
): { loop: ReconcileLoop; reports: DriftReport[]; next: number[] } {
  const conn = redis();
  const clients = clientsFor(emu.endpoint);
  clientSets.push(clients);
  const lock = new LeaderLock(conn, o.lockKey ?? `${stack.keyPrefix}:leader:${id}`, id, { ttlMs: o.ttlMs ?? 5_000 });
  const loop = new ReconcileLoop(
    {
      loadDesired: o.loadDesired ?? (async () => DEV),
      source: 'desired-state/dev.yml',
      reconcile: { ...clients, taskDefinitions: new Map(), retry: { maxAttempts: 2, baseMs: 1, capMs: 2 }, ...(o.now ? { now: o.now } : {}) },
      lock,
      history: new ReportHistory(conn, `${stack.keyPrefix}:${id}`, 3),
      random: () => 0.5, // no jitter: delays are exact
      backoff: new ResourceBackoff({ baseMs: 30_000, capMs: 120_000, random: () => 0.5 }),
      ...(o.watchFile ? { watchFile: o.watchFile } : {}),
    },
    { defaultIntervalMs: 60_000, watchDebounceMs: 50 },
  );
  const reports: DriftReport[] = [];
  const next: number[] = [];
  loop.on('passFinished', ({ report, nextInMs }) => {
    reports.push(report);
    next.push(nextInMs);
  });
  return { loop, reports, next };
}

/** Waits for a loop event, failing the test after `ms` (a hang guard, not a timing assertion). */
async function event<K extends keyof LoopEvents>(loop: ReconcileLoop, name: K, ms = 10_000): Promise<LoopEvents[K]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    return (await once(loop as never, name, { signal: ac.signal })) as LoopEvents[K];
  } catch {
    throw new Error(`no ${name} event within ${ms} ms`);
  } finally {
    clearTimeout(timer);
  }
}

async function setWorkerMax(max: number): Promise<void> {
  await aws.autoscaling.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: WORKER, ScalableDimension: 'ecs:service:DesiredCount', MaxCapacity: max }));
}

async function workerMax(): Promise<number | undefined> {
  const r = await aws.autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [WORKER] }));
  return r.ScalableTargets?.[0]?.MaxCapacity;
}

async function disableApiExec(): Promise<void> {
  await aws.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: API, enableExecuteCommand: false }));
}

function outcome(report: DriftReport, resource: string): string[] {
  return report.audit.filter((a) => a.resource === resource).map((a) => `${a.field}:${a.outcome}`);
}

const loops = suite('ReconcileLoop under trouble');

loops.before(async () => {
  [emu, stack] = await Promise.all([startAwsEmulator(), startTestStack('loop-resilience')]);
  aws = clientsFor(emu.endpoint);
  await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
});

loops.after(async () => {
  for (const c of [...clientSets, aws]) {
    c.ecs.destroy();
    c.autoscaling.destroy();
  }
  for (const r of redisConnections) r.disconnect();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  await Promise.all([emu.close(), stack.close()]);
});

loops.after.each(() => emu.faults.clear());

loops('back-off: the failing resource is retried less often (doubling), the others are corrected every pass, success resets', async () => {
  let t = Date.parse('2026-01-01T00:00:00Z');
  const r = replica('backoff', { now: () => new Date(t) });
  const target = 'scalable-target/worker';
  await setWorkerMax(9);
  await disableApiExec();
  emu.faults.add({ operation: 'RegisterScalableTarget', kind: 'server-error' });
  emu.resetCalls();

  await r.loop.runOnce(); // 1st failure: retried once in the pass (maxAttempts 2), then backed off 30 s
  assert.is(emu.callCount('RegisterScalableTarget'), 2);
  assert.equal(outcome(r.reports[0]!, target), ['maxCapacity:failed']);
  assert.equal(outcome(r.reports[0]!, 'ecs-service/api'), ['enableExecuteCommand:applied']);
  assert.is(r.loop.backoff.get(target)?.failures, 1);
  assert.is(r.loop.backoff.get(target)?.retryAtMs, t + 30_000);
  assert.is(r.next[0], 60_000, 'the loop keeps its normal interval: one bad resource does not slow the others');

  await disableApiExec();
  await r.loop.runOnce(); // same instant: the target is not tried, the api is corrected again
  assert.is(emu.callCount('RegisterScalableTarget'), 2, 'no call for a resource in back-off');
  assert.equal(outcome(r.reports[1]!, target), ['maxCapacity:deferred']);
  assert.match(r.reports[1]!.audit.find((a) => a.resource === target)!.error!, /backing off after 1 failed write until 2026-01-01T00:00:30.000Z/);
  assert.equal(outcome(r.reports[1]!, 'ecs-service/api'), ['enableExecuteCommand:applied']);

  t += 30_000;
  await r.loop.runOnce(); // due: tried, fails again, the delay doubles to 60 s
  assert.is(emu.callCount('RegisterScalableTarget'), 4);
  assert.is(r.loop.backoff.get(target)?.failures, 2);
  assert.is(r.loop.backoff.get(target)?.retryAtMs, t + 60_000);

  t += 30_000;
  await r.loop.runOnce(); // only half of the doubled delay passed
  assert.is(emu.callCount('RegisterScalableTarget'), 4);

  emu.faults.clear();
  t += 30_000;
  await r.loop.runOnce(); // due again and the endpoint is healthy: corrected, history forgotten
  assert.is(emu.callCount('RegisterScalableTarget'), 5);
  assert.equal(outcome(r.reports[4]!, target), ['maxCapacity:applied']);
  assert.is(r.loop.backoff.get(target), undefined);
  assert.is(await workerMax(), 4);
  await r.loop.stop();
});

loops('back-off delays double up to the cap and never beyond', () => {
  const b = new ResourceBackoff({ baseMs: 1_000, capMs: 10_000, random: () => 0.5 });
  const delays = Array.from({ length: 7 }, () => b.failure('x', 0, 'boom'));
  assert.equal(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  b.success('x');
  assert.ok(b.isReady('x', 0));
  assert.is(b.failure('x', 0, 'boom'), 1_000, 'a success resets the doubling');
});

loops('an edit of the watched file triggers a pass at once; a bad edit is reported and the last good state keeps running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-watch-'));
  tempDirs.push(dir);
  const file = join(dir, 'dev.yml');
  writeFileSync(file, DEV_TEXT);
  const r = replica('watch', { loadDesired: () => loadDesiredState(file, {}), watchFile: file });
  const rejected: string[] = [];
  r.loop.on('desiredRejected', ({ error }) => rejected.push(error));
  r.loop.start();
  await event(r.loop, 'passFinished');
  assert.is(r.next[0], 60_000, 'next regular pass a minute away: any pass before that came from the watch');

  const edited = DEV_TEXT.replace(/(worker:\n\s+autoscaling:\n\s+min: 1\n\s+max: )4/, '$16');
  assert.is.not(edited, DEV_TEXT);
  writeFileSync(file, edited);
  await event(r.loop, 'desiredChanged');
  const [{ report }] = await event(r.loop, 'passFinished');
  assert.equal(outcome(report, 'scalable-target/worker'), ['maxCapacity:applied']);
  assert.equal(report.audit.find((a) => a.resource === 'scalable-target/worker')?.after, 6);
  assert.is(await workerMax(), 6);

  writeFileSync(file, edited.replace('max: 6', 'max: "six"'));
  await event(r.loop, 'desiredRejected');
  assert.match(rejected[0]!, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ /spec/ecs/services/worker/autoscaling/max`));
  const failed: string[] = [];
  r.loop.on('passFailed', ({ error }) => failed.push(error));
  await setWorkerMax(7);
  await r.loop.runOnce(); // the file is still bad: the last good document (max 6) is reconciled
  assert.equal(failed, []);
  assert.equal(outcome(r.reports.at(-1)!, 'scalable-target/worker'), ['maxCapacity:applied']);
  assert.is(await workerMax(), 6);
  await r.loop.stop();
  writeFileSync(file, DEV_TEXT);
  await setWorkerMax(4);
});

loops('stop() (what SIGTERM calls) finishes the write in flight, then releases the lease', async () => {
  const r = replica('graceful');
  await setWorkerMax(12);
  emu.faults.add({ operation: 'RegisterScalableTarget', kind: 'latency', latencyMs: 400, times: 1 });
  emu.resetCalls();
  const pass = r.loop.runOnce();
  for (let i = 0; i < 500 && emu.faults.active.length > 0; i++) await new Promise((res) => setTimeout(res, 5));
  assert.is(emu.faults.active.length, 0, 'the delayed write reached the emulator');
  assert.is(r.reports.length, 0, 'the pass is still in flight');
  await r.loop.stop();
  await pass;
  assert.equal(outcome(r.reports[0]!, 'scalable-target/worker'), ['maxCapacity:applied']);
  assert.is(emu.calls.filter((c) => c.operation === 'RegisterScalableTarget' && c.status === 200 && c.fault === 'latency').length, 1);
  assert.is(await workerMax(), 4);
  assert.is(await redis().get(`${stack.keyPrefix}:leader:graceful`), null, 'lease released after the write');
});

loops('a standby takes over within 2 × TTL when the leader is SIGKILLed without releasing its lease', async () => {
  const ttlMs = 1_500;
  const lockKey = `${stack.keyPrefix}:takeover`;
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'test/controller/support/replica-process.ts'], {
    env: { ...process.env, AWS_ENDPOINT: emu.endpoint, REDIS_URL: stack.redisUrl, LOCK_KEY: lockKey, LOCK_TTL_MS: String(ttlMs), KEY_PREFIX: `${stack.keyPrefix}:child` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`child never became leader: ${out}`)), 15_000);
      child.stdout.on('data', (s: string) => {
        out += s;
        if (out.includes('leader ')) {
          clearTimeout(guard);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${String(code)}): ${out}`)));
    });
    const childId = /leader (\S+)/.exec(out)![1]!;

    const standby = replica('standby', { ttlMs, lockKey });
    const skipped: number[] = [];
    standby.loop.on('passSkipped', ({ nextInMs }) => skipped.push(nextInMs));
    const leadership = event(standby.loop, 'leadership', 15_000);
    standby.loop.start();
    await event(standby.loop, 'passSkipped');

    child.kill('SIGKILL');
    await once(child, 'exit');
    const conn = redis();
    assert.is(await conn.get(lockKey), childId, 'the dead leader did not release its lease');
    const leftMs = await conn.pttl(lockKey);
    assert.ok(leftMs > 0 && leftMs <= ttlMs, `lease expires within one TTL (${leftMs} ms left)`);

    const [{ leader }] = await leadership;
    assert.ok(leader);
    assert.is(await conn.get(lockKey), 'standby');
    // Takeover bound: the lease runs out within one TTL, and the standby re-tries every TTL / 2 (the constant
    // STANDBY_RETRY_MS would be 15 s): so at most TTL + TTL / 2 after the death, under 2 × TTL.
    assert.ok(skipped.length >= 1 && skipped.every((ms) => ms <= ttlMs / 2), `standby retry delays ${skipped.join(', ')} ms`);
    await event(standby.loop, 'passFinished');
    await standby.loop.stop();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

loops.run();
