/**
 * Forwarding to the upstream S3 server (s3rver): a request goes on byte for byte (method, path and query,
 * headers including `Host`, so signatures and presigned URLs stay valid; the body streamed, not buffered) and
 * the answer comes back the same way. Only hop-by-hop headers (`Connection`, `Keep-Alive`…) are dropped.
 */
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function forwardHeaders(h: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(h).filter(([k]) => !HOP_BY_HOP.has(k)));
}

/** Response headers as a flat `[name, value, …]` list without hop-by-hop ones (names keep their case). */
function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (!HOP_BY_HOP.has(name.toLowerCase()) && name.toLowerCase() !== 'transfer-encoding') out.push(name, raw[i + 1]!);
  }
  return out;
}

/** An upstream answer read whole. */
export interface BufferedAnswer {
  status: number;
  /** Flat `[name, value, …]` list. */
  headers: string[];
  body: Buffer;
}

/** Forwarding to one upstream. */
export class Upstream {
  private readonly agent = new Agent({ keepAlive: true });

  /** @param url upstream base URL, `http://host:port`. */
  constructor(readonly url: URL) {}

  private open(req: IncomingMessage): ReturnType<typeof request> {
    return request({ host: this.url.hostname, port: this.url.port, method: req.method, path: req.url, headers: forwardHeaders(req.headers), agent: this.agent });
  }

  /**
   * Streams `req` to the upstream and its answer to `res`.
   * @param onAnswer told the upstream's status before the body is relayed.
   */
  stream(req: IncomingMessage, res: ServerResponse, onAnswer?: (status: number) => void): void {
    const up = this.open(req);
    up.on('response', (answer) => {
      const status = answer.statusCode ?? 502;
      onAnswer?.(status);
      res.writeHead(status, answer.statusMessage, responseHeaders(answer.rawHeaders));
      pipeline(answer, res, () => undefined);
    });
    up.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`upstream S3 ${this.url.origin} unreachable: ${err.message}`);
      } else res.destroy(err);
    });
    pipeline(req, up, () => undefined);
  }

  /** Sends `req` with an already-read `body` and reads the whole answer. @throws Error when the upstream is unreachable. */
  async send(req: IncomingMessage, body: Buffer): Promise<BufferedAnswer> {
    return await new Promise((resolve, reject) => {
      const up = this.open(req);
      up.on('response', (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: responseHeaders(answer.rawHeaders), body: Buffer.concat(chunks) }));
        answer.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }

  /** Closes idle upstream connections. */
  close(): void {
    this.agent.destroy();
  }
}
