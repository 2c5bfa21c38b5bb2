/**
 * A pass under injected AWS faults (issue 3 point 6), against the emulator over HTTP: throttling, 5xx and
 * latency on some operations. The pass goes on with the other resources, retries with jittered exponential
 * back-off (sleeps recorded, not slept), reports each failure on its resource, and a service whose writes went
 * through only in part says which fields were written and which were not. The next pass finishes the job.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { PutScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { exitCodeOf, reconcile } from '../../controller/reconcile.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { renderPlanText } from '../../controller/report/plan-text.ts';
import type { DriftReport, ResourceReport } from '../../controller/types.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const CLUSTER = 'content-trends-dev';
const QUEUE_POLICY = 'scaling-policy/worker/ct-queue-depth-target';

let emu: AwsEmulator;
let aws: ReturnType<typeof clientsFor>;
let names: Record<string, string>;

const faults = suite('a pass under throttling, 5xx and latency');

faults.before(async () => {
  emu = await startAwsEmulator();
  aws = clientsFor(emu.endpoint);
  names = await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
});

faults.after(async () => {
  aws.ecs.destroy();
  aws.autoscaling.destroy();
  await emu.close();
});

function res(report: DriftReport, id: string): ResourceReport {
  const r = report.resources.find((x) => x.resource === id);
  if (!r) throw new Error(`no ${id} in the report`);
  return r;
}

faults('other resources go on, retries back off with jitter, failures are reported, a half-corrected service names its fields', async () => {
  const worker = `service/${CLUSTER}/${names.worker}`;
  // Drift on three services: reconciler count, worker max, worker queue-depth target value.
  await aws.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: names.reconciler, desiredCount: 3 }));
  await aws.autoscaling.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: worker, ScalableDimension: 'ecs:service:DesiredCount', MaxCapacity: 10 }));
  await aws.autoscaling.send(new PutScalingPolicyCommand({
    ServiceNamespace: 'ecs', ResourceId: worker, ScalableDimension: 'ecs:service:DesiredCount', PolicyName: 'ct-queue-depth-target', PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: 9, ScaleInCooldown: 120, ScaleOutCooldown: 60,
      CustomizedMetricSpecification: { Namespace: 'ContentTrends', MetricName: 'QueueDepthPerTask', Statistic: 'Average', Dimensions: [{ Name: 'Environment', Value: 'dev' }, { Name: 'Application', Value: 'content-trends' }] },
    },
  }));
  emu.resetCalls();
  emu.faults.add({ operation: 'DescribeServices', kind: 'throttle', times: 2 });
  emu.faults.add({ operation: 'DescribeScalableTargets', kind: 'latency', latencyMs: 150, times: 1 });
  emu.faults.add({ operation: 'DescribeScalingPolicies', kind: 'server-error', times: 5 }); // the api's read (first in order) fails every attempt
  emu.faults.add({ operation: 'UpdateService', kind: 'throttle', times: 1 });
  emu.faults.add({ operation: 'PutScalingPolicy', kind: 'server-error' }); // never succeeds this pass

  const sleeps: number[] = [];
  const { report } = await reconcile(
    { desired: DEV, source: 'desired-state/dev.yml', intent: 'apply' },
    { ...aws, taskDefinitions: new Map(), retry: { maxAttempts: 5, baseMs: 100, capMs: 300, random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) } },
  );
  emu.faults.clear();
  assert.equal(driftReportProblems(report), []);

  // Retries: full jitter (random 0.5 of the exponential ceiling, capped at 300 ms), per failed attempt in call order.
  assert.equal(sleeps, [
    50, 100, //                DescribeServices: 2 throttles
    50, 100, 150, 150, //      DescribeScalingPolicies (api): 4 retries after 5xx, ceiling capped
    50, //                     UpdateService: 1 throttle
    50, 100, 150, 150, //      PutScalingPolicy: 4 retries, then given up
  ]);
  assert.is(emu.callCount('DescribeServices'), 3);
  assert.is(emu.calls.filter((c) => c.operation === 'DescribeScalableTargets' && c.fault === 'latency' && c.status === 200).length, 1, 'the slow answer was waited for');
  assert.is(emu.callCount('DescribeScalingPolicies'), 6, 'api 5 failed attempts, worker 1');
  assert.is(emu.callCount('UpdateService'), 2);
  assert.is(emu.callCount('RegisterScalableTarget'), 1);
  assert.is(emu.callCount('PutScalingPolicy'), 5);

  // The api could not be observed: Error for it only; the pass went on with the others.
  assert.is(res(report, 'ecs-service/api').status, 'Error');
  assert.match(res(report, 'ecs-service/api').reasons[0]!, /^not observed: DescribeScalingPolicies service\/content-trends-dev\/.*InternalServiceException/);
  assert.is(res(report, 'ecs-service/reconciler').status, 'Synced');
  assert.equal(res(report, 'ecs-service/reconciler').written, ['desiredCount']);

  // The worker is half corrected: its target was written, its policy was not; both say so.
  const target = res(report, 'scalable-target/worker');
  const policy = res(report, QUEUE_POLICY);
  assert.is(target.status, 'Synced');
  assert.equal(target.written, ['maxCapacity']);
  assert.is(policy.status, 'Error');
  assert.equal(policy.unwritten, ['TargetValue']);
  const note = `partially applied (service worker): written scalable-target/worker maxCapacity; not written ${QUEUE_POLICY} TargetValue`;
  assert.ok(target.reasons.includes(note), target.reasons.join('\n'));
  assert.ok(policy.reasons.includes(note), policy.reasons.join('\n'));
  assert.match(renderPlanText(report, { color: false }), 'partially applied (service worker)');

  assert.equal(report.audit.map((a) => `${a.resource} ${a.field} ${a.outcome}`), [
    'ecs-service/reconciler desiredCount applied',
    'scalable-target/worker maxCapacity applied',
    `${QUEUE_POLICY} TargetValue failed`,
  ]);
  assert.equal(report.errors.map((e) => e.resource).sort(), ['ecs-service/api', QUEUE_POLICY].sort());
  assert.is(exitCodeOf(report), 1);

  // Faults gone: the next pass finishes what is left, and the one after finds nothing.
  const second = (await reconcile({ desired: DEV, source: 'desired-state/dev.yml', intent: 'apply' }, { ...aws, taskDefinitions: new Map() })).report;
  assert.equal(second.audit.map((a) => `${a.resource} ${a.field} ${a.outcome}`), [`${QUEUE_POLICY} TargetValue applied`]);
  const third = (await reconcile({ desired: DEV, source: 'desired-state/dev.yml', intent: 'plan' }, { ...aws, taskDefinitions: new Map() })).report;
  assert.is(exitCodeOf(third), 0);
  assert.is(third.summary.drifts, 0);
});

faults.run();
