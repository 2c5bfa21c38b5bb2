/**
 * The HTTP server of every listener (the Koa app, the metrics listeners of metrics-server.ts), with a graceful close
 * for ECS task replacement: on SIGTERM, stop accepting, let requests in flight finish, close idle keep-alive
 * connections, and after the grace period cut what is left.
 *
 * Timeouts: the ALB closes idle client connections after 60 s by default, and AWS advises a target keep-alive
 * longer than that so the target never closes a connection the balancer is about to reuse (Elastic Load Balancing
 * docs, "Connection idle timeout"). Node requires `headersTimeout` > `keepAliveTimeout` for the same reason on its
 * side (Node.js docs, `server.headersTimeout`).
 *
 * Listen backlog: Node's default is 511 pending connections. When more clients connect at once than the backlog
 * holds while the event loop is busy, Linux drops their SYNs and each client retries after 1, 3, 7, 15 s (TCP SYN
 * retransmission), which a client with a 10 s timeout sees as a timeout: in bench/api-load.ts (1000 connections
 * opening together) the API's timeouts were such connections (`nstat` TcpExtListenOverflows rose with them), and
 * with a backlog of 4096 there were none. The kernel caps the backlog at `net.core.somaxconn` (4096 by default
 * since Linux 5.4).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';

/** Options of {@link listen}. */
export interface HttpServerOptions {
  /** Interface to bind, e.g. `0.0.0.0` (API_HOST). */
  host: string;
  /** Port; 0 picks a free one (API_PORT). */
  port: number;
  /** Longest time to receive a whole request, ms. @defaultValue 30000 */
  requestTimeoutMs?: number;
  /** Idle keep-alive time, ms; above the ALB's 60 s idle timeout. @defaultValue 65000 */
  keepAliveTimeoutMs?: number;
  /** Longest time to receive the request headers, ms; above keepAliveTimeoutMs. @defaultValue 66000 */
  headersTimeoutMs?: number;
  /** Pending connections the kernel queues before the server accepts them (capped by net.core.somaxconn). @defaultValue 4096 */
  backlog?: number;
}

/** Defaults of the optional {@link HttpServerOptions} fields. */
export const DEFAULT_HTTP_SERVER_OPTIONS = { requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, headersTimeoutMs: 66_000, backlog: 4096 } as const;

/** A listening server. */
export interface RunningServer {
  server: Server;
  /** `http://host:port` with the bound port (loopback address when bound to all interfaces). */
  url: string;
  port: number;
  /** Requests being handled right now. */
  inFlight(): number;
  /**
   * Stops accepting connections, waits for in-flight requests up to `graceMs` (ms), then closes every connection.
   * @returns how many requests were still in flight when the grace period ended (0 = clean).
   */
  close(graceMs: number): Promise<{ cutRequests: number }>;
}

/**
 * Answers a request Node's HTTP parser rejected before Koa saw it (headers too large: 431; a malformed request
 * line or an unknown method: 400) in the same `{ error }` envelope as every other answer, with a fresh request id,
 * then closes the connection. Nothing is answered on a socket that is already gone or mid-response.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    error: {
      code: tooLarge ? 'headers_too_large' : 'bad_request',
      message: tooLarge ? 'the request headers are too large' : 'the request could not be parsed as HTTP',
      requestId: randomUUID(),
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Starts `handler` on `host:port`. @throws the listen error (e.g. EADDRINUSE). */
export async function listen(handler: RequestListener, options: HttpServerOptions): Promise<RunningServer> {
  const o = { ...DEFAULT_HTTP_SERVER_OPTIONS, ...options };
  const server = createServer(handler);
  server.requestTimeout = o.requestTimeoutMs;
  server.keepAliveTimeout = o.keepAliveTimeoutMs;
  server.headersTimeout = o.headersTimeoutMs;
  server.on('clientError', answerClientError);
  let active = 0;
  let closing = false;
  server.on('request', (_req, res) => {
    active++;
    res.once('close', () => {
      active--;
      // While closing, a connection whose last response just ended is idle: close it instead of keeping it alive.
      if (closing) server.closeIdleConnections();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: o.port, host: o.host, backlog: o.backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    url: `http://${shownHost}:${port}`,
    port,
    inFlight: () => active,
    close: (graceMs) =>
      new Promise((resolve) => {
        closing = true;
        let cutRequests = 0;
        const timer = setTimeout(() => {
          cutRequests = active;
          server.closeAllConnections();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve({ cutRequests });
        });
        server.closeIdleConnections();
      }),
  };
}
