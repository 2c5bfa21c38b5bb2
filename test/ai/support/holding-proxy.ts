/**
 * An HTTP proxy for AI tests that holds each request until the test lets it go: a coordinated call has been admitted
 * (its Redis admission round trip answered: the request is only sent after it) once its request reaches the proxy,
 * and it answers only when the test releases it. Between the two, the test can change Redis (pause it, fill it)
 * knowing the call's post-call write is the next thing that call sends to Redis (on the event-loop turn after the
 * call returns). Requests are forwarded to the AI
 * emulator unchanged, answers relayed unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from './forward.ts';

/** A running proxy. */
export interface HoldingProxy {
  /** Same path shape as the target (`http://127.0.0.1:<port>/models`). */
  endpoint: string;
  /** Resolves once `n` requests in all have arrived (and are held). */
  arrived(n: number): Promise<void>;
  /** Requests that have arrived so far (held or released). */
  arrivedCount(): number;
  /** Forwards the `i`-th request to arrive (0-based) and relays its answer. @throws Error when it has not arrived. */
  release(i: number): void;
  close(): Promise<void>;
}

interface Held {
  req: IncomingMessage;
  body: Buffer;
  res: ServerResponse;
}

/**
 * Starts a proxy in front of `targetBaseUrl` (`http://host:port`).
 * @param pathPrefix appended to the proxy's base URL to form `endpoint`. @defaultValue '/models'
 */
export async function startHoldingProxy(targetBaseUrl: string, pathPrefix = '/models'): Promise<HoldingProxy> {
  const target = new URL(targetBaseUrl);
  const held: Held[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      held.push({ req, body: Buffer.concat(chunks), res });
      for (const w of waiters.filter((x) => held.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}${pathPrefix}`,
    arrived: (n) => (held.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    arrivedCount: () => held.length,
    release(i) {
      const h = held[i];
      if (!h) throw new Error(`holding proxy: request ${i} has not arrived (${held.length} so far)`);
      forwardRequest(target, h.req, h.body, h.res);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
