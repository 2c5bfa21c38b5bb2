/**
 * A recording HTTP proxy for AI tests: sits between coordinators and the AI emulator and notes, for every request,
 * which job sent it (the `[job:<id>]` tag the test puts in the prompt text), when it arrived and when its answer
 * left, the status, and the retry headers of the answer. The emulator's own log keeps bodies only for its newest
 * 20 requests, too few to tie each retry to the 429 that preceded it in a batch.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from './forward.ts';

/** One proxied request. Times are epoch ms from this process's clock. */
export interface ProxiedCall {
  /** The `[job:<id>]` tag found in the body, or '' when none. */
  job: string;
  arrivedAtMs: number;
  answeredAtMs: number;
  status: number;
  /** Raw `retry-after-ms` / `retry-after` answer headers. */
  retryAfterMs?: string;
  retryAfter?: string;
}

/** A running proxy. */
export interface RecordingProxy {
  /** Same path shape as the target (e.g. `http://127.0.0.1:<port>/models`). */
  endpoint: string;
  calls: ProxiedCall[];
  close(): Promise<void>;
}

const TAG = /\[job:([A-Za-z0-9_-]+)\]/;

/**
 * Starts a proxy in front of `targetBaseUrl` (`http://host:port`), serving the same paths.
 * @param pathPrefix appended to the proxy's base URL to form `endpoint`. @defaultValue '/models'
 */
export async function startRecordingProxy(targetBaseUrl: string, pathPrefix = '/models'): Promise<RecordingProxy> {
  const target = new URL(targetBaseUrl);
  const calls: ProxiedCall[] = [];
  const server: Server = createServer((req, res) => {
    const arrivedAtMs = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const job = TAG.exec(body.toString('utf8'))?.[1] ?? '';
      forwardRequest(target, req, body, res, ({ status, headers: h }) => {
        calls.push({
          job,
          arrivedAtMs,
          answeredAtMs: Date.now(),
          status: status ?? 0,
          ...(typeof h['retry-after-ms'] === 'string' ? { retryAfterMs: h['retry-after-ms'] } : {}),
          ...(typeof h['retry-after'] === 'string' ? { retryAfter: h['retry-after'] } : {}),
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${pathPrefix}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
