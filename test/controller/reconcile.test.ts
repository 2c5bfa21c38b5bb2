import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { DeleteScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { exitCodeOf, reconcile, type ReconcileDeps } from '../../controller/reconcile.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { renderPlanText } from '../../controller/report/plan-text.ts';
import type { ReconcileResult } from '../../controller/types.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const WRITES = ['UpdateService', 'RegisterScalableTarget', 'PutScalingPolicy'] as const;

interface Ctx {
  emu: AwsEmulator;
  deps: ReconcileDeps;
  names: Record<string, string>;
  close(): void;
}

/** A fresh emulator seeded to match `desired` (Copilot-style names unless told otherwise). */
async function setup(desired: DesiredState = DEV, seed: Parameters<typeof seedFromDesired>[2] = { copilotNames: true }): Promise<Ctx> {
  const emu = await startAwsEmulator();
  const names = await seedFromDesired(emu.endpoint, desired, seed);
  const clients = clientsFor(emu.endpoint);
  emu.resetCalls();
  return {
    emu,
    names,
    deps: { ...clients, taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 4 } },
    close: () => {
      clients.ecs.destroy();
      clients.autoscaling.destroy();
    },
  };
}

async function teardown(c: Ctx): Promise<void> {
  c.close();
  await c.emu.close();
}

function writeCalls(emu: AwsEmulator): number {
  return WRITES.reduce((n, op) => n + emu.callCount(op), 0);
}

async function pass(c: Ctx, intent: 'plan' | 'apply', desired: DesiredState = DEV, dryRun = false): Promise<ReconcileResult> {
  const r = await reconcile({ desired, source: 'desired-state/dev.yml', intent, dryRun }, c.deps);
  assert.equal(driftReportProblems(r.report), [], 'the report matches schemas/drift-report.schema.json');
  return r;
}

/** Changes the worker's scalable-target max behind the reconciler's back. */
async function driftWorkerMax(c: Ctx, max: number): Promise<void> {
  await c.deps.autoscaling.send(
    new RegisterScalableTargetCommand({
      ServiceNamespace: 'ecs', ResourceId: `service/content-trends-dev/${c.names.worker}`, ScalableDimension: 'ecs:service:DesiredCount', MaxCapacity: max,
    }),
  );
  c.emu.resetCalls();
}

const passes = suite('reconcile() against the ECS / Application Auto Scaling emulator over HTTP');

passes('a cluster seeded to match dev.yml: empty plan, exit 0, no write call, batched reads', async () => {
  const c = await setup();
  try {
    const { report, requeueAfterMs } = await pass(c, 'apply');
    assert.is(report.summary.drifts, 0);
    assert.is(report.summary.synced, report.summary.resources);
    assert.is(exitCodeOf(report), 0);
    assert.is(writeCalls(c.emu), 0);
    assert.is(report.metadata.clusterArn, 'arn:aws:ecs:us-east-1:000000000000:cluster/content-trends-dev');
    assert.is(c.emu.callCount('DescribeServices'), 1, 'three services fit in one DescribeServices call');
    assert.is(report.summary.apiCalls, c.emu.callCount());
    assert.is(requeueAfterMs, 60_000, 'interval: 60s from the document');
    // 3 services + 3 task definitions + 2 scalable targets + 4 policies (api: cpu, requests; worker: cpu, queue depth)
    assert.is(report.summary.resources, 12);
  } finally {
    await teardown(c);
  }
});

passes('worker max changed behind its back: plan shows exactly that (exit 2), apply fixes it, next plan is empty', async () => {
  const c = await setup();
  try {
    await driftWorkerMax(c, 10);
    const plan = await pass(c, 'plan');
    assert.is(exitCodeOf(plan.report), 2);
    const drifted = plan.report.resources.filter((r) => r.status !== 'Synced');
    assert.equal(drifted.map((r) => r.resource), ['scalable-target/worker']);
    assert.equal(drifted[0]!.drifts.map((d) => [d.field, d.actual, d.desired, d.action, d.path]), [
      ['maxCapacity', 10, 4, 'update', '/spec/ecs/services/worker/autoscaling/max'],
    ]);
    assert.is(writeCalls(c.emu), 0, 'plan writes nothing');
    assert.match(renderPlanText(plan.report), /~ scalable-target\/worker {2}\(service\/content-trends-dev\/content-trends-dev-worker-Service-WORKER1x2Y3z\)\n {6}~ maxCapacity: 10 → 4 {3}# \/spec\/ecs\/services\/worker\/autoscaling\/max/);

    const apply = await pass(c, 'apply');
    assert.is(c.emu.callCount('RegisterScalableTarget'), 1);
    assert.is(writeCalls(c.emu), 1);
    assert.equal(apply.report.audit.map((a) => [a.resource, a.field, a.before, a.after, a.operation, a.outcome]), [
      ['scalable-target/worker', 'maxCapacity', 10, 4, 'RegisterScalableTarget', 'applied'],
    ]);
    assert.is(exitCodeOf(apply.report), 0);
    const target = [...c.emu.state.scalableTargets.values()].find((t) => t.resourceId.endsWith(c.names.worker!));
    assert.is(target?.maxCapacity, 4);

    c.emu.resetCalls();
    const after = await pass(c, 'plan');
    assert.is(after.report.summary.drifts, 0);
    assert.is(exitCodeOf(after.report), 0);
  } finally {
    await teardown(c);
  }
});

passes('an autoscaled service whose live desiredCount differs from min shows no drift', async () => {
  const c = await setup(DEV, { copilotNames: true, desiredCounts: { worker: 3, api: 2 } });
  try {
    const live = c.emu.state.getService('content-trends-dev', c.names.worker!);
    assert.is(live?.desiredCount, 3, 'seeded with 3 running while min is 1');
    const { report } = await pass(c, 'apply');
    assert.is(report.summary.drifts, 0);
    assert.is(writeCalls(c.emu), 0);
  } finally {
    await teardown(c);
  }
});

passes('observe mode reports drift and writes nothing', async () => {
  const observe = structuredClone(DEV);
  observe.spec.management.mode = 'observe';
  const c = await setup(observe);
  try {
    await driftWorkerMax(c, 10);
    const { report } = await pass(c, 'apply', observe);
    assert.is(writeCalls(c.emu), 0);
    assert.is(report.metadata.mode, 'observe');
    assert.equal(report.resources.filter((r) => r.status === 'Drifted').map((r) => r.resource), ['scalable-target/worker']);
    assert.equal(report.resources.find((r) => r.resource === 'scalable-target/worker')!.drifts.map((d) => d.action), ['none']);
    assert.is(exitCodeOf(report), 2);
  } finally {
    await teardown(c);
  }
});

passes('dry run plans the write, sends none, and says so in the audit trail', async () => {
  const c = await setup();
  try {
    await driftWorkerMax(c, 10);
    const { report } = await pass(c, 'apply', DEV, true);
    assert.is(writeCalls(c.emu), 0);
    assert.equal(report.audit.map((a) => a.outcome), ['dry-run']);
    assert.is(report.summary.writes['dry-run'], 1);
    assert.is(exitCodeOf(report), 2);
    assert.match(renderPlanText(report), /dry-run {2}RegisterScalableTarget scalable-target\/worker maxCapacity: 10 → 4/);
  } finally {
    await teardown(c);
  }
});

passes('throttling on reads and on the write is retried with back-off', async () => {
  const c = await setup();
  try {
    await driftWorkerMax(c, 10);
    c.emu.faults.add({ operation: 'DescribeServices', kind: 'throttle', times: 2 });
    c.emu.faults.add({ operation: 'RegisterScalableTarget', kind: 'throttle', times: 1 });
    c.emu.faults.add({ operation: 'DescribeScalingPolicies', kind: 'server-error', times: 1 });
    const { report } = await pass(c, 'apply');
    assert.is(c.emu.callCount('DescribeServices'), 3, '2 throttled + 1');
    assert.is(c.emu.callCount('RegisterScalableTarget'), 2, '1 throttled + 1');
    assert.equal(report.errors, []);
    assert.equal(report.audit.map((a) => a.outcome), ['applied']);
    assert.is(exitCodeOf(report), 0);
  } finally {
    await teardown(c);
  }
});

passes('a failed write does not stop the rest, and is reported as an Error', async () => {
  const c = await setup();
  try {
    await c.deps.ecs.send(new UpdateServiceCommand({ cluster: 'content-trends-dev', service: c.names.reconciler, desiredCount: 3 }));
    await driftWorkerMax(c, 10);
    c.emu.faults.add({ operation: 'UpdateService', kind: 'server-error' });
    const { report } = await pass(c, 'apply');
    assert.is(c.emu.callCount('UpdateService'), 5, 'retried up to maxAttempts (5)');
    assert.is(c.emu.callCount('RegisterScalableTarget'), 1, 'the next write still ran');
    const byResource = Object.fromEntries(report.resources.map((r) => [r.resource, r.status]));
    assert.is(byResource['ecs-service/reconciler'], 'Error');
    assert.is(byResource['scalable-target/worker'], 'Synced');
    assert.is(report.errors.length, 1);
    assert.match(report.errors[0]!.message, /^UpdateService ecs-service\/reconciler: /);
    assert.is(exitCodeOf(report), 1);
  } finally {
    await teardown(c);
  }
});

passes('writes are withheld (deferred) once mayWrite says no: a replica that lost the lease stops writing', async () => {
  const c = await setup();
  try {
    await driftWorkerMax(c, 10);
    const { report } = await reconcile({ desired: DEV, source: 'desired-state/dev.yml', intent: 'apply' }, { ...c.deps, mayWrite: () => false });
    assert.is(writeCalls(c.emu), 0);
    assert.equal(report.audit.map((a) => [a.outcome, a.error]), [['deferred', 'not attempted: this replica is no longer the leader']]);
  } finally {
    await teardown(c);
  }
});

passes('a deleted policy is re-created under its stable name', async () => {
  const c = await setup();
  try {
    await c.deps.autoscaling.send(
      new DeleteScalingPolicyCommand({ PolicyName: 'ct-queue-depth-target', ServiceNamespace: 'ecs', ResourceId: `service/content-trends-dev/${c.names.worker}`, ScalableDimension: 'ecs:service:DesiredCount' }),
    );
    c.emu.resetCalls();
    const { report } = await pass(c, 'apply');
    assert.equal(report.audit.map((a) => [a.resource, a.operation, a.outcome]), [['scaling-policy/worker/ct-queue-depth-target', 'PutScalingPolicy', 'applied']]);
    const policy = [...c.emu.state.scalingPolicies.values()].find((p) => p.name === 'ct-queue-depth-target');
    assert.ok(policy, 'the policy exists again');
    c.emu.resetCalls();
    const after = await pass(c, 'plan');
    assert.is(after.report.summary.drifts, 0, 'the re-created policy matches (metric, dimensions, cooldowns)');
  } finally {
    await teardown(c);
  }
});

passes('services found by exact name (no tags needed) read only what they need', async () => {
  const c = await setup(DEV, { copilotNames: false });
  try {
    const { report } = await pass(c, 'plan');
    assert.is(report.summary.drifts, 0);
    assert.equal(report.resources.find((r) => r.resource === 'ecs-service/api')?.liveId, 'arn:aws:ecs:us-east-1:000000000000:service/content-trends-dev/api');
  } finally {
    await teardown(c);
  }
});

passes('maxWritesPerPass defers what is over the cap to the next pass', async () => {
  const capped = structuredClone(DEV);
  capped.spec.management.maxWritesPerPass = 1;
  const c = await setup(capped);
  try {
    await c.deps.ecs.send(new UpdateServiceCommand({ cluster: 'content-trends-dev', service: c.names.reconciler, desiredCount: 3 }));
    await driftWorkerMax(c, 10);
    const first = await pass(c, 'apply', capped);
    assert.equal(first.report.audit.map((a) => [a.resource, a.outcome]), [['ecs-service/reconciler', 'applied'], ['scalable-target/worker', 'deferred']]);
    assert.is(writeCalls(c.emu), 1);
    assert.is(exitCodeOf(first.report), 2);
    const second = await pass(c, 'apply', capped);
    assert.equal(second.report.audit.map((a) => [a.resource, a.outcome]), [['scalable-target/worker', 'applied']]);
    assert.is(exitCodeOf(second.report), 0);
  } finally {
    await teardown(c);
  }
});

passes('ignored paths are neither reported nor corrected, but counted', async () => {
  const ignoring = structuredClone(DEV);
  ignoring.spec.management.ignore = ['/spec/ecs/services/*/autoscaling/max'];
  const c = await setup(ignoring);
  try {
    await driftWorkerMax(c, 10);
    const { report } = await pass(c, 'apply', ignoring);
    assert.is(report.summary.drifts, 0);
    assert.is(report.summary.ignored, 1);
    assert.is(writeCalls(c.emu), 0);
  } finally {
    await teardown(c);
  }
});

passes('a missing service and a missing cluster are reported, not thrown', async () => {
  const c = await setup(DEV, { copilotNames: true, skip: ['reconciler'] });
  try {
    const { report } = await pass(c, 'apply');
    assert.equal(report.resources.filter((r) => r.status !== 'Synced').map((r) => `${r.resource} ${r.status}`), ['ecs-service/reconciler Drifted']);
    assert.not.ok(report.resources.some((r) => r.resource === 'task-definition/reconciler'), 'nothing else of a missing service is listed');
    assert.is(exitCodeOf(report), 2);
    const other = structuredClone(DEV);
    other.spec.ecs.cluster = 'no-such-cluster';
    const r2 = await pass(c, 'plan', other);
    assert.is(exitCodeOf(r2.report), 1);
    assert.match(r2.report.errors[0]!.message, /^observe cluster no-such-cluster: ListServices no-such-cluster: /);
    assert.ok(r2.report.resources.every((r) => r.status === 'Error'));
  } finally {
    await teardown(c);
  }
});

passes.run();
