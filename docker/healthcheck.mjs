// Container health probe: `node docker/healthcheck.mjs <url> [timeoutMs]` exits 0 when GET <url> answers 2xx
// within timeoutMs (default 2000 ms), and 1 otherwise (error status, timeout, refused connection, bad arguments).
// Used by the Dockerfile HEALTHCHECK and by the reconciler manifest's image.healthcheck: node:22-bookworm-slim has
// no curl or wget. Only loopback URLs are accepted: a health check probes its own container.
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const [url, timeoutArg = '2000'] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg);

function fail(reason) {
  process.stderr.write(`healthcheck: ${reason}\n`);
  process.exit(1);
}

let target;
try {
  target = new URL(url ?? '');
} catch {
  fail('usage: node docker/healthcheck.mjs http://127.0.0.1:<port>/<path> [timeoutMs]');
}
if (target.protocol !== 'http:' || !LOOPBACK.has(target.hostname)) fail(`refusing ${target.href}: only http://127.0.0.1, localhost or [::1]`);
if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) fail(`timeoutMs must be an integer from 1 to 60000, got ${timeoutArg}`);

try {
  const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) fail(`${target.pathname} answered ${res.status}`);
  process.exit(0);
} catch (err) {
  fail(`${target.pathname}: ${err instanceof Error ? err.message : String(err)}`);
}
