/**
 * Prometheus metrics of the reconciler (prom-client, a registry of its own so tests and embedders never share
 * global state). Names follow controller-runtime's (`controller_runtime_reconcile_total` and friends) in spirit:
 * passes, drift, writes, API calls, errors, pass duration, leadership, and the queue-depth metric the reconciler
 * publishes to CloudWatch.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DriftReport } from './types.ts';
import type { ApiCallEvent } from './aws/api-calls.ts';
import type { QueueMetricOutcome } from './queue-depth/datum.ts';

/** The reconciler's metrics. */
export class ReconcilerMetrics {
  readonly registry = new Registry();
  /** Passes by outcome: `synced`, `drifted`, `error`, `skipped` (not leader). */
  readonly passes = new Counter({ name: 'reconciler_passes_total', help: 'Reconcile passes by outcome', labelNames: ['outcome'], registers: [this.registry] });
  /** Drift items found by the latest pass. */
  readonly driftItems = new Gauge({ name: 'reconciler_drift_items', help: 'Drift items found by the latest pass (ignored ones excluded)', registers: [this.registry] });
  /** Resources by status after the latest pass. */
  readonly resources = new Gauge({ name: 'reconciler_resources', help: 'Managed resources by status after the latest pass', labelNames: ['status'], registers: [this.registry] });
  /** Writes by operation and outcome. */
  readonly writes = new Counter({ name: 'reconciler_writes_total', help: 'Writes by AWS operation and outcome', labelNames: ['operation', 'outcome'], registers: [this.registry] });
  /** AWS API call attempts by API, operation and outcome (`ok`, `throttled`, `error`). */
  readonly apiCalls = new Counter({ name: 'reconciler_aws_api_calls_total', help: 'AWS API call attempts', labelNames: ['api', 'operation', 'outcome'], registers: [this.registry] });
  /** Errors reported by passes (observation failures, failed writes, invalid desired state, failed queue-metric publications). */
  readonly errors = new Counter({ name: 'reconciler_errors_total', help: 'Errors reported by passes and failed queue-metric publications', registers: [this.registry] });
  /** Pass duration in seconds. */
  readonly passDuration = new Histogram({
    name: 'reconciler_pass_duration_seconds',
    help: 'Duration of reconcile passes',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  /** 1 while this replica holds the leader lease. */
  readonly leader = new Gauge({ name: 'reconciler_leader', help: '1 while this replica is the leader', registers: [this.registry] });
  /** Queue-depth metric publications by outcome: `published`, `skipped` (running tasks unknown), `failed`. */
  readonly queueMetricPublishes = new Counter({
    name: 'reconciler_queue_metric_publish_total',
    help: 'Publications of the worker queue-depth CloudWatch metric by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  /** The last queue-depth value published, jobs per running task. */
  readonly queueDepthPerTask = new Gauge({ name: 'reconciler_queue_depth_per_task', help: 'Last published waiting jobs per running worker task', registers: [this.registry] });

  /** @param processMetrics also collect Node.js process metrics (the service does; tests need not). */
  constructor(processMetrics = false) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Records one AWS call attempt. */
  recordApiCall(e: ApiCallEvent): void {
    this.apiCalls.inc({ api: e.api, operation: e.operation, outcome: e.outcome });
  }

  /** Records a queue-depth publication; a failure also counts as an error. */
  recordQueueMetric(o: QueueMetricOutcome): void {
    this.queueMetricPublishes.inc({ outcome: o.outcome });
    if (o.outcome === 'published') this.queueDepthPerTask.set(o.value);
    if (o.outcome === 'failed') this.errors.inc();
  }

  /** Records a finished pass from its report. */
  recordReport(report: DriftReport): void {
    const s = report.summary;
    this.passes.inc({ outcome: report.errors.length > 0 || s.errors > 0 ? 'error' : s.drifted > 0 ? 'drifted' : 'synced' });
    this.driftItems.set(s.drifts);
    this.resources.set({ status: 'Synced' }, s.synced);
    this.resources.set({ status: 'Drifted' }, s.drifted);
    this.resources.set({ status: 'Error' }, s.errors);
    this.resources.set({ status: 'Unsupported' }, s.unsupported);
    const seen = new Set<string>();
    for (const a of report.audit) {
      const k = `${a.resource}|${a.operation}`;
      if (seen.has(k)) continue; // one write may change several fields: count the write once
      seen.add(k);
      this.writes.inc({ operation: a.operation, outcome: a.outcome });
    }
    this.errors.inc(report.errors.length);
    this.passDuration.observe(report.metadata.durationMs / 1000);
  }
}
