/**
 * ContentTrends/ReconcileErrors, the metric the reconcile-errors alarm (copilot/environments/addons/alarms.yml)
 * reads: after every pass the leading reconciler publishes failed actions + failed passes to CloudWatch (our
 * emulator, over HTTP through @aws-sdk/client-cloudwatch) with the alarm's dimensions and unit Count; 0 on a clean
 * pass. Faults are injected into the emulator's ECS API; the write back-off runs on a test clock.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import type { ReconcileLoop } from '../../controller/loop.ts';
import type { ReconcileErrorsOutcome } from '../../controller/metrics-publisher/pass-metrics.ts';
import { putMetricData } from '../../controller/metrics-publisher/publisher.ts';
import type { AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { startPassMetricsStack, type PassMetricsStack } from './support/pass-metrics-stack.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const CLUSTER = DEV.spec.ecs.cluster;
/** The alarm's metric, written out here rather than taken from the code, so a typo in the code's constant fails. */
const ALARM_METRIC = { namespace: 'ContentTrends', metricName: 'ReconcileErrors' };
const ALARM_DIMENSIONS = [{ name: 'Application', value: 'content-trends' }, { name: 'Environment', value: 'dev' }];

let h: PassMetricsStack;
let emu: AwsEmulator;
let clockMs = Date.parse('2030-01-01T00:00:00Z');
/** Loops of the running test, stopped after it whatever happened (a lease left held would block the next test). */
const loops: ReconcileLoop[] = [];

/** One reconciler replica wired like controller/main.ts without the queue metric (RECONCILE_PUBLISH_QUEUE_METRIC=false), on the test clock. */
function replica(id: string, loadDesired: () => Promise<DesiredState> = async () => DEV) {
  const loop = h.replica(id, { loadDesired, now: () => new Date(clockMs) });
  loops.push(loop);
  const events: string[] = [];
  const outcomes: ReconcileErrorsOutcome[] = [];
  loop.on('reconcileErrorsMetric', (o) => {
    events.push(`reconcileErrorsMetric:${o.outcome}`);
    outcomes.push(o);
  });
  loop.on('queueMetric', () => events.push('queueMetric'));
  loop.on('passFinished', () => events.push('passFinished'));
  loop.on('passFailed', () => events.push('passFailed'));
  return { loop, events, outcomes };
}

/** Values of the alarm's metric with the alarm's dimensions, oldest first. */
function values(): (number | undefined)[] {
  return emu.metrics.datapoints({ ...ALARM_METRIC, dimensions: ALARM_DIMENSIONS }).map((p) => p.value);
}

const errors = suite('ReconcileErrors published by the reconcile loop');

errors.before(async () => {
  h = await startPassMetricsStack('reconcile-errors', DEV);
  emu = h.emu;
});

errors.after.each(async () => {
  emu.faults.clear();
  for (const loop of loops.splice(0)) await loop.stop();
});

errors.after(async () => {
  await h.close();
});

errors('a clean pass publishes 0; a failed ECS write counts until it is corrected, through its back-off; a blind pass counts as failed', async () => {
  const r = replica('replica-a');
  emu.resetCalls();
  await r.loop.runOnce();
  const [first] = emu.metrics.datapoints(ALARM_METRIC);
  assert.equal([first?.value, first?.unit, first?.dimensions], [0, 'Count', ALARM_DIMENSIONS], 'a clean pass: 0, unit Count, the alarm\'s dimensions');
  assert.is(emu.callCount('PutMetricData'), 1, 'one request per pass');
  assert.equal(r.events, ['reconcileErrorsMetric:published', 'passFinished'], 'no queue metric without a backlog reader');
  assert.equal(r.outcomes[0], { outcome: 'published', metric: 'ContentTrends/ReconcileErrors', value: 0, failedActions: 0, backedOff: 0, failedPasses: 0 });

  // Drift on the reconciler service, and ECS refusing every UpdateService: the write fails after its retries.
  await h.clients.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: h.names.reconciler, desiredCount: 3 }));
  await h.runOnceUnder({ operation: 'UpdateService', kind: 'server-error' }, r.loop);
  assert.equal(r.outcomes[1], { outcome: 'published', metric: 'ContentTrends/ReconcileErrors', value: 1, failedActions: 1, backedOff: 0, failedPasses: 0 });

  // Fault gone, but the resource backs off (30 s ± 10 %): not written, no error in the report, still counted.
  await r.loop.runOnce();
  assert.equal(r.outcomes[2], { outcome: 'published', metric: 'ContentTrends/ReconcileErrors', value: 1, failedActions: 1, backedOff: 1, failedPasses: 0 });

  // Back-off over: corrected, back to 0.
  clockMs += 60_000;
  await r.loop.runOnce();
  assert.equal(values(), [0, 1, 1, 0]);

  // ListServices failing: the cluster cannot be read, the pass saw nothing.
  await h.runOnceUnder({ operation: 'ListServices', kind: 'server-error' }, r.loop);
  await r.loop.stop();
  assert.equal(r.outcomes[4], { outcome: 'published', metric: 'ContentTrends/ReconcileErrors', value: 1, failedActions: 0, backedOff: 0, failedPasses: 1 });
  assert.equal(values(), [0, 1, 1, 0, 1]);
});

errors('a pass that fails outright counts 1 under the last valid document; with none ever read it is skipped, not mislabelled', async () => {
  emu.metrics.clear();
  let fail = false;
  const r = replica('replica-b', async () => {
    if (fail) throw new Error('EACCES: permission denied, open desired-state/dev.yml');
    return DEV;
  });
  await r.loop.runOnce();
  fail = true;
  await r.loop.runOnce();
  await r.loop.stop();
  assert.equal(r.events, ['reconcileErrorsMetric:published', 'passFinished', 'reconcileErrorsMetric:published', 'passFailed']);
  assert.equal(r.outcomes[1], { outcome: 'published', metric: 'ContentTrends/ReconcileErrors', value: 1, failedActions: 0, backedOff: 0, failedPasses: 1 });
  assert.equal(values(), [0, 1]);

  const never = replica('replica-c', async () => {
    throw new ValidationError('desired state invalid', [{ where: 'desired-state/dev.yml:1:1', message: 'not a map' }]);
  });
  await never.loop.runOnce();
  await never.loop.stop();
  assert.equal(never.events, ['reconcileErrorsMetric:skipped', 'passFailed']);
  assert.match(never.outcomes[0]!.outcome === 'skipped' ? never.outcomes[0]!.reason : '', /^no valid desired state was read yet: Application and Environment unknown \(1 error not published\)$/);
  assert.equal(values(), [0, 1], 'nothing published under made-up dimensions');
});

errors('only the leader publishes; a failed PutMetricData is an outcome with the count, and the pass still finishes', async () => {
  emu.metrics.clear();
  const leader = replica('replica-l');
  const standby = replica('replica-s');
  await leader.loop.runOnce();
  await standby.loop.runOnce();
  assert.equal(standby.events, []);
  assert.equal(values(), [0]);

  await h.runOnceUnder({ operation: 'PutMetricData', kind: 'server-error' }, leader.loop);
  await leader.loop.stop();
  await standby.loop.stop();
  assert.equal(leader.events.slice(2), ['reconcileErrorsMetric:failed', 'passFinished']);
  const failed = leader.outcomes[1]!;
  assert.equal(failed.outcome === 'failed' ? [failed.value, failed.failedPasses] : failed, [0, 0]);
  assert.match(failed.outcome === 'failed' ? failed.error : '', /^PutMetricData ContentTrends\/ReconcileErrors: InternalServiceFault: Injected server error \(emulator fault\)\. \(HTTP 500\)$/);
  assert.equal(values(), [0]);
});

errors('the publisher sends only catalogued metrics: a stray name, unit or dimension set is refused before any request', async () => {
  emu.resetCalls();
  const base = { namespace: 'ContentTrends', metricName: 'ReconcileErrors', dimensions: ALARM_DIMENSIONS, value: 1, unit: 'Count' } as const;
  const cases: [Parameters<typeof putMetricData>[0][number], string][] = [
    [{ ...base, metricName: 'ReconcileErrorz' }, 'not published: ContentTrends/ReconcileErrorz is not in PUBLISHED_METRICS (controller/metrics-publisher/catalog.ts)'],
    [{ ...base, unit: 'Seconds' }, 'not published: ContentTrends/ReconcileErrors: unit Seconds, the catalog says Count'],
    [{ ...base, dimensions: [{ name: 'Environment', value: 'dev' }] }, 'not published: ContentTrends/ReconcileErrors: dimensions [Environment], the catalog says [Application, Environment]'],
    [{ ...base, value: Number.NaN }, 'not published: ContentTrends/ReconcileErrors: value NaN is not finite'],
  ];
  for (const [datum, error] of cases) assert.equal(await putMetricData([datum], { cloudwatch: h.cloudwatch }), { ok: false, error });
  assert.is(emu.callCount('PutMetricData'), 0);
  assert.equal(await putMetricData([base], { cloudwatch: h.cloudwatch }), { ok: true });
  assert.is(emu.callCount('PutMetricData'), 1);
});

errors.run();
