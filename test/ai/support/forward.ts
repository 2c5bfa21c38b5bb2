/**
 * The request forwarding the AI test proxies share (holding-proxy.ts, recording-proxy.ts): one request, its body
 * already read, sent on to the target unchanged but for the Host header, and the target's answer relayed unchanged.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

/** The target's answer, handed to {@link forwardRequest}'s `onAnswer` before it is relayed. */
export interface ForwardedAnswer {
  /** HTTP status; undefined when Node did not parse one. */
  status: number | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sends `req` (method, path and headers, Host set to the target's) with `body` to `target` (`http://host:port`)
 * and writes the target's status, headers and body to `res` once the whole answer is in (status 502 when the
 * answer has none). When the target cannot be reached, answers 502 `text/plain` `proxy: <error message>` and
 * calls no `onAnswer`.
 * @param onAnswer told about the target's answer just before it is relayed.
 */
export function forwardRequest(target: URL, req: IncomingMessage, body: Buffer, res: ServerResponse, onAnswer?: (a: ForwardedAnswer) => void): void {
  const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (upRes) => {
    const parts: Buffer[] = [];
    upRes.on('data', (c: Buffer) => parts.push(c));
    upRes.on('end', () => {
      const answer = { status: upRes.statusCode, headers: upRes.headers, body: Buffer.concat(parts) };
      onAnswer?.(answer);
      res.writeHead(answer.status ?? 502, answer.headers);
      res.end(answer.body);
    });
  });
  up.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`proxy: ${e.message}`);
  });
  up.end(body);
}
