/**
 * Prometheus metrics of the API (prom-client), in a registry of their own (never prom-client's global one, so two
 * apps in one process, as in tests, do not collide):
 * - `api_http_requests_total{method,route,status}`: requests answered;
 * - `api_http_request_duration_seconds{method,route,status}`: time to the end of the response, seconds;
 * - `api_rate_limit_rejections_total{limiter}`: requests refused with 429 by the `tenant`, `token` or `client` limit;
 * - with `defaultMetrics`, prom-client's process metrics (CPU, memory, event-loop lag, GC) prefixed `api_`.
 *
 * `route` is the router's pattern (`/v1/analyses/:id`), or `unmatched` for paths no route matched, so label
 * cardinality stays bounded whatever paths clients send (Prometheus docs, "Instrumentation", Use labels).
 * They are served on a separate port (metrics-server.ts), never through the public listener.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { LimiterName } from './rate-limits.ts';

/** Label of requests no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Histogram buckets of request durations, seconds (5 ms to 5 s; the load target is p99 under 200 ms). */
export const DURATION_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5] as const;

/** The API's metrics. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  readonly rateLimited: Counter<'limiter'>;

  /** @param o.defaultMetrics also collect the process metrics (main.ts turns it on; tests leave it off). */
  constructor(o: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'api_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'api_http_request_duration_seconds',
      help: 'Time from request to the end of the response, seconds.',
      labelNames: ['method', 'route', 'status'],
      buckets: [...DURATION_BUCKETS_SEC],
      registers,
    });
    this.rateLimited = new Counter({ name: 'api_rate_limit_rejections_total', help: 'Requests refused with 429 rate_limited, by limiter.', labelNames: ['limiter'], registers });
    if (o.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'api_' });
  }

  /** Records one finished request. @param seconds its duration in seconds. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  /** Counts a 429 of `limiter`. */
  rejected(limiter: LimiterName): void {
    this.rateLimited.inc({ limiter });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
