/**
 * The worker's Prometheus registry, served on WORKER_METRICS_PORT (services/platform/metrics-server.ts): the AI
 * coordinator's `ai_*` metrics (services/ai/metrics.ts: calls by outcome, cache lookups by result, so the hit rate,
 * tokens and USD by model and task, attempts, retries, 429s, quota waits, breaker states, post-call writes) and the
 * process metrics of prom-client, prefixed `worker_` (CPU, memory, event-loop lag, GC).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { MetricsSource } from '../platform/metrics-server.ts';

/** The worker's metrics. */
export class WorkerMetrics implements MetricsSource {
  /** Pass it to the coordinator as `metricsRegistry`. */
  readonly registry = new Registry();

  /** @param o.defaultMetrics also collect the process metrics. @defaultValue true */
  constructor(o: { defaultMetrics?: boolean } = {}) {
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'worker_' });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
