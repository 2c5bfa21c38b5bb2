/**
 * The worker's queue-depth metric: after a pass, the leading reconciler publishes BullMQ backlog ÷ running worker
 * tasks to CloudWatch (our emulator, over HTTP through @aws-sdk/client-cloudwatch), under exactly the namespace,
 * name and dimensions of the worker's scaling policy as `copilot svc deploy` + seed left it; zero tasks, a
 * failing PutMetricData and an unobservable worker are handled without failing the pass.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { Queue } from 'bullmq';
import { parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { createAnalysisQueue } from '../../services/analyses/queue.ts';
import type { AnalysisJobData } from '../../services/analyses/types.ts';
import { ReconcilerMetrics } from '../../controller/metrics.ts';
import { bullmqBacklog } from '../../controller/queue-depth/backlog.ts';
import type { QueueMetricOutcome } from '../../controller/queue-depth/datum.ts';
import { queueDepthSample, queueMetricOf } from '../../controller/queue-depth/sample.ts';
import type { DriftReport, ObservedService, ObservedState } from '../../controller/types.ts';
import type { AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { startPassMetricsStack, type PassMetricsStack } from './support/pass-metrics-stack.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const CLUSTER = DEV.spec.ecs.cluster;
const WORKER_NAME = 'content-trends-dev-worker-Service-WORKER1x2Y3z';
const WORKER = `service/${CLUSTER}/${WORKER_NAME}`;

let h: PassMetricsStack;
let emu: AwsEmulator;
let queue: Queue<AnalysisJobData>;

/** One reconciler replica wired like controller/main.ts (with the queue's backlog reader), its metrics fed from the loop's events. */
function replica(id: string) {
  const metrics = new ReconcilerMetrics();
  const loop = h.replica(id, { publish: { backlog: bullmqBacklog(queue), onApiCall: (e) => metrics.recordApiCall(e) } });
  const events: string[] = [];
  const outcomes: QueueMetricOutcome[] = [];
  const reports: DriftReport[] = [];
  loop.on('queueMetric', (o) => {
    events.push(`queueMetric:${o.outcome}`);
    outcomes.push(o);
    metrics.recordQueueMetric(o);
  });
  loop.on('passFinished', ({ report }) => {
    events.push('passFinished');
    reports.push(report);
    metrics.recordReport(report);
  });
  loop.on('passFailed', () => events.push('passFailed'));
  return { loop, metrics, events, outcomes, reports };
}

async function setWorkerTasks(n: number): Promise<void> {
  await h.clients.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: WORKER_NAME, desiredCount: n }));
}

function job(i: number): AnalysisJobData {
  return { analysisId: `a${i}`, tenantId: 't1', videoKey: `uploads/t1/v${i}.mp4`, options: {} };
}

const points = () => emu.metrics.datapoints({ namespace: 'ContentTrends', metricName: 'QueueDepthPerTask' });

const published = suite('queue-depth metric published by the reconcile loop');

published.before(async () => {
  h = await startPassMetricsStack('queue-metric', DEV, { desiredCounts: { worker: 3 } });
  emu = h.emu;
  queue = createAnalysisQueue(h.redis(), h.stack.keyPrefix, 'video-analysis');
});

published.after(async () => {
  await queue.close();
  await h.close();
});

published('N waiting + prioritized jobs and M running tasks: N/M under the policy\'s namespace, name and dimensions, unit Count', async () => {
  // 4 prioritized (every API job has a priority) + 1 without priority = a backlog of 5; a delayed retry is not runnable yet.
  for (let i = 0; i < 4; i++) await queue.add('analyze-video', job(i), { priority: 1 + (i % 3) });
  await queue.add('analyze-video', job(4));
  await queue.add('analyze-video', job(5), { delay: 60_000 });
  const r = replica('replica-a');
  emu.resetCalls();
  const before = Date.now();
  await r.loop.runOnce();
  await r.loop.stop();

  assert.equal(r.events, ['queueMetric:published', 'passFinished'], 'published before the pass is reported');
  assert.equal(r.reports[0]!.errors, []);
  const [p, ...more] = points();
  assert.equal(more, [], 'one datapoint per pass');
  assert.is(p!.value, 5 / 3);
  assert.is(p!.unit, 'Count');
  assert.is(p!.storageResolution, 60);
  assert.ok(p!.timestampMs >= before - 1000 && p!.timestampMs <= Date.now(), 'timestamped at the pass');
  // The policy as seeded (independently of the controller): the datapoints must match its metric exactly.
  const policy = emu.state.getScalingPolicies(WORKER).find((x) => x.targetTracking?.CustomizedMetricSpecification);
  const spec = policy!.targetTracking!.CustomizedMetricSpecification as { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] };
  assert.equal([p!.namespace, p!.metricName], [spec.Namespace, spec.MetricName]);
  assert.equal(p!.dimensions, spec.Dimensions.map((d) => ({ name: d.Name, value: d.Value })).sort((a, b) => a.name.localeCompare(b.name)));
  assert.equal(r.outcomes, [{ outcome: 'published', metric: 'ContentTrends/QueueDepthPerTask', value: 5 / 3, backlog: 5, runningTasks: 3, services: ['worker'] }]);
  assert.is(emu.callCount('PutMetricData'), 1);
  const text = await r.metrics.registry.metrics();
  assert.match(text, /\nreconciler_queue_metric_publish_total\{outcome="published"\} 1\n/);
  assert.match(text, /\nreconciler_queue_depth_per_task 1\.6666666666666667\n/);
  assert.match(text, /\nreconciler_aws_api_calls_total\{api="cloudwatch",operation="PutMetricData",outcome="ok"\} 1\n/);
});

published('zero running tasks: the whole backlog is the value (divisor 1), and an empty queue reads 0', async () => {
  emu.metrics.clear();
  await setWorkerTasks(0);
  const r = replica('replica-z');
  await r.loop.runOnce();
  await queue.obliterate({ force: true });
  await r.loop.runOnce();
  await r.loop.stop();
  await setWorkerTasks(3);
  assert.equal(points().map((p) => p.value), [5, 0]);
  assert.equal(r.outcomes.map((o) => (o.outcome === 'published' ? [o.backlog, o.runningTasks] : o.outcome)), [[5, 0], [0, 0]]);
});

published('PutMetricData failing: reported as an outcome, counted as an error, the pass still finishes; a throttle is retried', async () => {
  emu.metrics.clear();
  emu.resetCalls();
  const r = replica('replica-f');
  await h.runOnceUnder({ operation: 'PutMetricData', kind: 'server-error' }, r.loop);
  assert.equal(r.events, ['queueMetric:failed', 'passFinished']);
  const failed = r.outcomes[0]!;
  assert.is(failed.outcome, 'failed');
  assert.match(failed.outcome === 'failed' ? failed.error : '', /^PutMetricData ContentTrends\/QueueDepthPerTask, ContentTrends\/ReconcileErrors: InternalServiceFault: Injected server error \(emulator fault\)\. \(HTTP 500\)$/);
  assert.is(emu.callCount('PutMetricData'), 5, 'retried with back-off up to the retry limit');
  assert.equal(r.reports[0]!.errors, [], 'the drift report is untouched');
  assert.is(r.reports[0]!.summary.synced, r.reports[0]!.summary.resources);
  assert.equal(points(), []);
  let text = await r.metrics.registry.metrics();
  assert.match(text, /\nreconciler_queue_metric_publish_total\{outcome="failed"\} 1\n/);
  assert.match(text, /\nreconciler_errors_total 1\n/);
  assert.match(text, /\nreconciler_passes_total\{outcome="synced"\} 1\n/, 'the pass itself counts as synced');

  emu.faults.add({ operation: 'PutMetricData', kind: 'throttle', times: 1 });
  await r.loop.runOnce();
  await r.loop.stop();
  assert.is(r.outcomes[1]!.outcome, 'published');
  assert.is(points().length, 1);
  text = await r.metrics.registry.metrics();
  assert.match(text, /\nreconciler_aws_api_calls_total\{api="cloudwatch",operation="PutMetricData",outcome="throttled"\} 1\n/);
});

published('only the leader publishes; a cluster that cannot be read is skipped with the reason, not published', async () => {
  emu.metrics.clear();
  const leader = replica('replica-l');
  const standby = replica('replica-s');
  await leader.loop.runOnce();
  await standby.loop.runOnce();
  assert.equal(standby.events, []);
  assert.is(points().length, 1);

  await h.runOnceUnder({ operation: 'ListServices', kind: 'server-error' }, leader.loop);
  await leader.loop.stop();
  await standby.loop.stop();
  assert.equal(leader.outcomes[1], { outcome: 'skipped', metric: 'ContentTrends/QueueDepthPerTask', reason: `cluster ${CLUSTER} was not observed: running tasks unknown` });
  assert.is(points().length, 1, 'nothing published for the blind pass');
});

// ---------------------------------------------------------------------------------------------------------------

const sample = suite('queue-depth sample (pure)');

function observedWith(services: ObservedState['services']): ObservedState {
  return { cluster: { name: CLUSTER }, services, observedAt: new Date(0).toISOString() };
}

function svc(runningCount: number): ObservedService {
  return { arn: 'arn', name: 'n', clusterArn: 'c', status: 'ACTIVE', desiredCount: runningCount, runningCount, deployment: {}, taskDefinitionArn: 'td', tags: {}, targetGroupArns: [] };
}

sample('metric identity comes from the document\'s metadata; nothing to publish without targetQueueDepthPerTask', () => {
  const found = queueMetricOf(DEV)!;
  assert.equal(found, {
    metric: { namespace: 'ContentTrends', metricName: 'QueueDepthPerTask', dimensions: [{ name: 'Application', value: 'content-trends' }, { name: 'Environment', value: 'dev' }] },
    services: ['worker'],
  });
  const worker = DEV.spec.ecs.services.worker!;
  const none: DesiredState = { ...DEV, spec: { ...DEV.spec, ecs: { ...DEV.spec.ecs, services: { worker: { ...worker, autoscaling: { ...worker.autoscaling!, targetQueueDepthPerTask: undefined } } } } } };
  assert.is(queueMetricOf(none), undefined);
});

sample('tasks of every consumer are summed; an unobserved or missing consumer skips the pass', () => {
  const { metric } = queueMetricOf(DEV)!;
  const two = queueDepthSample(metric, ['worker', 'worker-b'], observedWith({ worker: { service: svc(2), policies: [] }, 'worker-b': { service: svc(3), policies: [] } }), 10);
  assert.equal('skip' in two ? two : [two.value, two.runningTasks], [2, 5]);
  assert.equal(queueDepthSample(metric, ['worker'], observedWith({ worker: { policies: [], error: 'DescribeServices: boom' } }), 10), { skip: 'service worker was not observed: DescribeServices: boom' });
  assert.equal(queueDepthSample(metric, ['worker'], observedWith({ worker: { policies: [] } }), 10), { skip: `service worker was not found in cluster ${CLUSTER}` });
});

published.run();
sample.run();
