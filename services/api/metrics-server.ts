/**
 * The Prometheus scrape endpoint on its own listener (API_METRICS_PORT), not on the public API port: the load
 * balancer forwards only API_PORT, so `/metrics` is reachable from inside the VPC (the scraper, the ECS service's
 * security group) and never from the internet, with no token for the scraper to hold. `GET /metrics` answers the
 * exposition text; anything else is 404, and no request header or body is ever read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type RunningServer } from './http-server.ts';
import type { ApiMetrics } from './metrics.ts';
import type { Logger } from '../platform/logger.ts';

/** The request handler of the metrics listener. */
export function metricsHandler(metrics: ApiMetrics, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
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
 * @param host interface to bind (API_HOST). @param port API_METRICS_PORT (0 = a free port).
 * @throws the listen error (e.g. EADDRINUSE).
 */
export function serveMetrics(metrics: ApiMetrics, log: Logger, host: string, port: number): Promise<RunningServer> {
  return listen(metricsHandler(metrics, log), { host, port });
}
