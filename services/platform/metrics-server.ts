/**
 * A Prometheus scrape endpoint on a listener of its own (the API's API_METRICS_PORT, the worker's
 * WORKER_METRICS_PORT), never on a public port: the load balancer forwards only API_PORT, and the worker has no load
 * balancer, so `/metrics` is reachable from inside the VPC (the scraper, the environment's security group) and never
 * from the internet, with no token for the scraper to hold. `GET /metrics` (and `HEAD`) answers the exposition text;
 * anything else is 404, and no request header or body is ever read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type RunningServer } from './http-server.ts';
import type { Logger } from './logger.ts';

/** What the listener serves: a prom-client registry's exposition (e.g. `ApiMetrics`, `WorkerMetrics`). */
export interface MetricsSource {
  /** The exposition text and its content type. @throws whatever a collector throws (answered 500). */
  render(): Promise<{ contentType: string; body: string }>;
}

/** The request handler of the metrics listener. */
export function metricsHandler(metrics: MetricsSource, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        log.error({ err }, 'metrics rendering failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  };
}

/**
 * Starts the metrics listener.
 * @param host interface to bind (API_HOST, WORKER_METRICS_HOST). @param port the port (0 = a free port).
 * @throws the listen error (e.g. EADDRINUSE).
 */
export function serveMetrics(metrics: MetricsSource, log: Logger, host: string, port: number): Promise<RunningServer> {
  return listen(metricsHandler(metrics, log), { host, port });
}
