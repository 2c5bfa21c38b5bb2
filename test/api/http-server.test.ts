/**
 * Graceful shutdown: the HTTP server finishes requests in flight and refuses new ones once closing; the api entry
 * point (services/api/main.ts) starts from environment variables alone and exits 0 on SIGTERM.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import Koa from 'koa';
import { startTestStack } from '../support/stack.ts';
import { createDevIssuer } from '../../devstack/dev-keys.ts';
import { listen } from '../../services/platform/http-server.ts';

const server = suite('listen(): close(graceMs)');

server('finishes the request in flight, refuses new connections, and reports nothing cut', async () => {
  let release: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const app = new Koa();
  app.use(async (ctx) => {
    entered();
    await gate;
    ctx.body = { data: 'finished' };
  });
  const s = await listen(app.callback(), { host: '127.0.0.1', port: 0 });
  const inFlight = fetch(`${s.url}/slow`).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
  await handlerEntered;
  assert.is(s.inFlight(), 1);
  const closed = s.close(10_000);
  await new Promise((resolve) => setImmediate(resolve));
  const refused = await fetch(`${s.url}/new`).then(
    () => 'answered',
    (err: unknown) => String((err as { cause?: { code?: string } }).cause?.code ?? err),
  );
  assert.is(refused, 'ECONNREFUSED');
  release();
  assert.equal(await inFlight, { status: 200, body: { data: 'finished' } });
  assert.equal(await closed, { cutRequests: 0 });
});

/** Sends raw bytes and returns the whole answer (status line, headers, body) once the server closes. */
async function raw(port: number, request: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (b: Buffer) => (answer += b.toString()));
  socket.write(request);
  await once(socket, 'close');
  return answer;
}

server('requests the HTTP parser rejects still get the JSON envelope with a request id', async () => {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { data: 'never reached' };
  });
  const s = await listen(app.callback(), { host: '127.0.0.1', port: 0 });
  try {
    const huge = await raw(s.port, `GET /v1/analyses HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    const hugeBody = JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)) as { error: { code: string; requestId: string } };
    assert.is(hugeBody.error.code, 'headers_too_large');
    assert.match(hugeBody.error.requestId, /^[0-9a-f-]{36}$/);
    const bad = await raw(s.port, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400 /);
    assert.is((JSON.parse(bad.slice(bad.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code, 'bad_request');
  } finally {
    await s.close(1000);
  }
});

server('cuts what is still running when the grace period ends', async () => {
  const app = new Koa();
  app.use(async () => {
    await new Promise(() => undefined); // never answers
  });
  const s = await listen(app.callback(), { host: '127.0.0.1', port: 0 });
  const hanging = fetch(`${s.url}/`).then(
    () => 'answered',
    () => 'cut',
  );
  while (s.inFlight() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(await s.close(50), { cutRequests: 1 });
  assert.is(await hanging, 'cut');
});

const entry = suite('services/api/main.ts');

entry('starts from the environment, answers /healthz, and exits 0 on SIGTERM', async () => {
  const stack = await startTestStack('api-main');
  const issuer = await createDevIssuer();
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'services/api/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: stack.keyPrefix,
      S3_TEMP_BUCKET: 'ct-test-temp',
      AUTH_JWT_ISSUER: issuer.issuer,
      AUTH_JWT_AUDIENCE: issuer.audience,
      AUTH_JWT_PUBLIC_KEY: issuer.publicKeyPem,
      AUTH_JWT_ALGORITHMS: 'ES256',
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      API_METRICS_PORT: '0',
      SHUTDOWN_GRACE_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`api exited early with ${code}: ${out}${err}`)));
    });
    const health = await fetch(`${url}/healthz`);
    assert.is(health.status, 200);
    const metricsUrl = /"metricsUrl":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(out)?.[1];
    assert.ok(metricsUrl, 'the listening line names the metrics URL');
    assert.is.not(new URL(metricsUrl).port, new URL(url).port);
    const metrics = await (await fetch(metricsUrl)).text();
    assert.match(metrics, /api_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    assert.match(metrics, /api_process_cpu_user_seconds_total/, 'process metrics are on in the real entry point');
    const token = await issuer.mint({ sub: 'u', tenant_id: 'acme', scope: '' });
    assert.is((await fetch(`${url}/v1/openapi.json`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.is(code, 0, err);
    assert.match(out, /"msg":"stopped"/);
    assert.not.ok(out.includes(token), 'the token is not logged');
    assert.not.match(out, /redis:\/\/127/, 'the Redis URL is redacted');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await stack.close();
  }
});

entry('an API_TRUSTED_PROXIES entry that is not a CIDR stops start-up with exit 78, naming the entry', async () => {
  const stack = await startTestStack('api-main-proxies');
  const issuer = await createDevIssuer();
  try {
    const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'services/api/main.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: stack.redisUrl,
        REDIS_KEY_PREFIX: stack.keyPrefix,
        S3_TEMP_BUCKET: 'ct-test-temp',
        AUTH_JWT_ISSUER: issuer.issuer,
        AUTH_JWT_AUDIENCE: issuer.audience,
        AUTH_JWT_PUBLIC_KEY: issuer.publicKeyPem,
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        API_METRICS_PORT: '0',
        API_TRUSTED_PROXIES: '10.0.0.0/8, 10.0.0.0/33',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.is(code, 78, err);
    assert.match(err, /API_TRUSTED_PROXIES\[2\] "10\.0\.0\.0\/33": has a prefix length outside 0-32/);
  } finally {
    await stack.close();
  }
});

server.run();
entry.run();
