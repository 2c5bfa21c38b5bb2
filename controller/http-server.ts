/**
 * The reconciler's small HTTP server (node:http; three read-only routes, so no framework):
 * - `GET /healthz`: 200 `{ status: 'ok', leader, lastPassAt }` while running, 503 while stopping;
 * - `GET /drift`: the latest drift report (JSON, `schemas/drift-report.schema.json`), 404 before the first;
 *   `GET /drift?history=N` (1–100): the last N reports, newest first;
 * - `GET /metrics`: Prometheus text format.
 * Anything else: 404; other methods: 405. Errors answer 500 with a generic message (details go to the log).
 * None of the routes asks for credentials, so the server binds to loopback unless RECONCILER_HOST says otherwise
 * (the container's health check calls 127.0.0.1; people read drift through the API's authenticated `/v1/drift`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../services/platform/logger.ts';
import type { ReportHistory } from './report/history.ts';
import type { ReconcilerMetrics } from './metrics.ts';

/** What the server reads. */
export interface ReconcilerServerDeps {
  history: ReportHistory;
  metrics: ReconcilerMetrics;
  /** Current health facts. */
  health: () => { stopping: boolean; leader: boolean; lastPassAt?: string };
  logger: Logger;
}

/** A running server. */
export interface ReconcilerServer {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

/** Largest `history` a request may ask for. */
export const MAX_HISTORY_QUERY = 100;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function route(req: IncomingMessage, res: ServerResponse, deps: ReconcilerServerDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const known = ['/healthz', '/drift', '/metrics'];
  if (!known.includes(url.pathname)) return json(res, 404, { error: { code: 'not_found', message: `no route ${url.pathname}` } });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return json(res, 405, { error: { code: 'method_not_allowed', message: `${req.method ?? ''} is not allowed` } });
  }
  if (url.pathname === '/healthz') {
    const h = deps.health();
    return json(res, h.stopping ? 503 : 200, { status: h.stopping ? 'stopping' : 'ok', leader: h.leader, ...(h.lastPassAt ? { lastPassAt: h.lastPassAt } : {}) });
  }
  if (url.pathname === '/metrics') {
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
    res.end(text);
    return;
  }
  const history = url.searchParams.get('history');
  if (history !== null) {
    const n = Number(history);
    if (!Number.isInteger(n) || n < 1 || n > MAX_HISTORY_QUERY) {
      return json(res, 400, { error: { code: 'invalid_query', message: `history must be an integer from 1 to ${MAX_HISTORY_QUERY}` } });
    }
    return json(res, 200, { reports: await deps.history.list(n) });
  }
  const latest = await deps.history.latest();
  if (!latest) return json(res, 404, { error: { code: 'not_found', message: 'no drift report yet' } });
  return json(res, 200, latest);
}

/**
 * Starts the server.
 * @param port 0 picks a free port.
 * @throws Error when the port cannot be bound.
 */
export async function startReconcilerServer(host: string, port: number, deps: ReconcilerServerDeps): Promise<ReconcilerServer> {
  const server: Server = createServer((req, res) => {
    route(req, res, deps).catch((err: unknown) => {
      deps.logger.error({ err, path: req.url }, 'reconciler http request failed');
      if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
