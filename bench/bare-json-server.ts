/**
 * The baseline of bench/api-load.ts: a one-middleware Koa app answering the same JSON bodies the API answers (200 to
 * GET, 202 to POST), behind the same `listen()` (services/api/http-server.ts: same timeouts, same backlog), so the
 * only difference measured is the API's own work: middleware, JWT verification, rate limits, Redis, S3.
 *
 * Run as a child process: `node --import tsx bench/bare-json-server.ts <port> <get-body-file> <post-body-file>`.
 * Prints `{"url": …}` once listening; exits on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import Koa from 'koa';
import { listen } from '../services/platform/http-server.ts';

const [portArg, getFile, postFile] = process.argv.slice(2);
if (!portArg || !getFile || !postFile) {
  process.stderr.write('usage: bare-json-server.ts <port> <get-body-file> <post-body-file>\n');
  process.exit(2);
}
const getBody = JSON.parse(readFileSync(getFile, 'utf8')) as unknown;
const postBody = JSON.parse(readFileSync(postFile, 'utf8')) as unknown;

const app = new Koa();
app.use((ctx) => {
  ctx.status = ctx.method === 'POST' ? 202 : 200;
  ctx.body = ctx.method === 'POST' ? postBody : getBody;
});
const server = await listen(app.callback(), { host: '127.0.0.1', port: Number(portArg) });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once('SIGTERM', () => {
  void server.close(1000).then(() => process.exit(0));
});
