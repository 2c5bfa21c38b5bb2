/**
 * API load benchmark (issue 6 §7): autocannon with 1000 concurrent connections for 30 s against
 * `GET /v1/analyses/:id` (authenticated, rate limits on but far above the load) and `POST /v1/analyses`, each beside
 * a bare Koa server returning the same JSON (bench/bare-json-server.ts), in the same run on the same machine.
 * Figures per run: requests/s (mean of per-second samples), p50 and p99 latency (ms), errors, timeouts and
 * non-2xx answers; then the API/bare ratios, checked against the target (at least half the bare throughput, p99
 * under 200 ms, no errors).
 *
 * Setup, as production runs it: the real entry point (services/api/main.ts) in its own process, configured by
 * environment variables only, logging at info to /dev/null (the access log line is still built and written), with
 * real Redis and s3rver (in a third process, so the load generator does not starve it). The bare server also runs
 * in its own process behind the same `listen()`. Each target gets a 5 s warm-up at 100 connections first (JIT,
 * connection pools), not reported. reference/bench-baselines.md: on 2 shared cores even the bare server shows
 * load-generator timeouts and a p99 near 200 ms at 1000 connections, so compare the ratios of one run.
 *
 * `POST /v1/analyses` is the full write path: a HEAD of the upload in S3 (s3rver here), the record and its index
 * entry in one Redis transaction, and a BullMQ add; every request creates a new analysis (no Idempotency-Key).
 * Everything the run wrote to Redis is deleted at the end (its own key prefix).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import autocannon, { type AutocannonResult } from 'autocannon';
import { Redis } from 'ioredis';
import { createDevIssuer } from '../devstack/dev-keys.ts';
import { freePort } from '../devstack/standins/ports.ts';
import { deleteKeysWithPrefix, startRedis } from '../devstack/standins/redis.ts';
import { firstJsonLine, startChild, startModuleChild, type Child } from './child-process.ts';

/** Options of {@link benchApiLoad} (the issue's figures by default). */
export interface ApiLoadOptions {
  /** Concurrent connections. @defaultValue 1000 */
  connections?: number;
  /** Seconds per measured run. @defaultValue 30 */
  durationSec?: number;
  /** Which routes to measure (each beside the bare server). @defaultValue both */
  routes?: ReadonlyArray<'GET' | 'POST'>;
  /** Extra Node flags for the API process only, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']` to profile it. @defaultValue none */
  apiNodeArgs?: readonly string[];
  /**
   * Node/V8 flags for both servers, the API and the bare one, to compare a runtime setting fairly.
   * @defaultValue {@link API_NODE_FLAGS}: both run with the flags the Dockerfile gives the API
   */
  serverNodeArgs?: readonly string[];
}

/** The Node flags of the api image's CMD (Dockerfile; test/copilot/images.test.ts checks that the two agree). */
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** One measured run. */
export interface LoadRow {
  target: 'api' | 'bare';
  route: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  completed: number;
  /** 1-minute load average of the machine when the run ended (other work shares the cores). */
  load1: number;
}

/** The target of issue 6: API throughput at least this share of the bare server's. */
export const MIN_THROUGHPUT_RATIO = 0.5;
/** The target of issue 6: API p99 below this, ms. */
export const MAX_P99_MS = 200;

const BUCKET = 'bench-temp';
const TENANT = 'bench';

async function waitHealthy(url: string, what: string, child: Child): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${what} exited with ${child.proc.exitCode}: ${child.stderr()}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await delay(200);
  }
  throw new Error(`${what} did not become ready in 30 s: ${child.stderr()}`);
}

/** Deletes the run's keys through a connection of its own (the benchmark's Redis may be shared); how many. */
async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    return await deleteKeysWithPrefix(r, `${prefix}:`);
  } finally {
    r.disconnect();
  }
}

function row(target: LoadRow['target'], route: string, r: AutocannonResult): LoadRow {
  return {
    target,
    route,
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    completed: r['2xx'] + r.non2xx,
    load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

function printRows(rows: LoadRow[]): void {
  const head = ['target', 'route', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts', 'non-2xx', 'answered', 'load 1m'];
  const lines = rows.map((r) => [r.target, r.route, String(r.requestsPerSec), String(r.p50Ms), String(r.p99Ms), String(r.errors), String(r.timeouts), String(r.non2xx), String(r.completed), r.load1.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(`  ${fmt(head)}`);
  for (const l of lines) console.log(`  ${fmt(l)}`);
}

/**
 * Runs the benchmark and prints the figures.
 * @throws Error when a stand-in or server does not start (after stopping whatever did).
 */
export async function benchApiLoad(options: ApiLoadOptions = {}): Promise<void> {
  const o: ApiLoadOptions = { serverNodeArgs: API_NODE_FLAGS, ...options };
  const connections = o.connections ?? 1000;
  const durationSec = o.durationSec ?? 30;
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const scratch = await mkdtemp(join(tmpdir(), 'ct-bench-api-'));
  const redis = await startRedis();
  const children: Child[] = [];
  try {
    const s3 = startModuleChild(`import { startS3 } from './devstack/standins/s3.ts'; const s = await startS3(['${BUCKET}']); console.log(JSON.stringify({ endpoint: s.endpoint })); process.once('SIGTERM', () => s.close().then(() => process.exit(0)));`);
    children.push(s3);
    const s3Endpoint = String((await firstJsonLine(s3, 's3rver')).endpoint);

    const issuer = await createDevIssuer();
    const [apiPort, barePort] = await Promise.all([freePort(), freePort()]);
    const api = startChild(['services/api/main.ts'], {
      APP_PROFILE: 'dev',
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      S3_TEMP_BUCKET: BUCKET,
      S3_ENDPOINT: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      // s3rver's built-in credentials: it checks the signature of presigned URLs.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AUTH_JWT_ISSUER: issuer.issuer,
      AUTH_JWT_AUDIENCE: issuer.audience,
      AUTH_JWT_PUBLIC_KEY: issuer.publicKeyPem,
      AUTH_JWT_ALGORITHMS: issuer.algorithm,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      API_METRICS_PORT: '0',
      // "Rate limits on but not hit": every request still makes both Redis round trips.
      API_RATE_LIMIT_PER_TENANT_PER_MIN: '100000000',
      API_RATE_LIMIT_PER_TOKEN_PER_MIN: '100000000',
      SHUTDOWN_GRACE_MS: '5000',
    }, 'ignore', [...(o.serverNodeArgs ?? []), ...(o.apiNodeArgs ?? [])]);
    children.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitHealthy(`${apiUrl}/readyz`, 'the API', api);

    // One upload and one analysis: the GET target, and the POST body every request repeats.
    const token = await issuer.mint({ sub: 'bench-user', tenant_id: TENANT, scope: 'analyses:read analyses:write', tier: 'pro' }, { expiresIn: '2h' });
    const auth = { authorization: `Bearer ${token}` };
    const ticketRes = await fetch(`${apiUrl}/v1/uploads`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ contentType: 'video/mp4', bytes: 1024 }) });
    const ticket = ((await ticketRes.json()) as { data: { uploadUrl: string; videoKey: string; headers: Record<string, string> } }).data;
    const put = await fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: randomBytes(1024) });
    if (!put.ok) throw new Error(`upload failed: ${put.status}`);
    const postBody = JSON.stringify({ videoKey: ticket.videoKey });
    const created = await fetch(`${apiUrl}/v1/analyses`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: postBody });
    if (created.status !== 202) throw new Error(`POST /v1/analyses answered ${created.status}: ${await created.text()}`);
    const createdJson = await created.text();
    const id = (JSON.parse(createdJson) as { data: { id: string } }).data.id;
    const gotJson = await (await fetch(`${apiUrl}/v1/analyses/${id}`, { headers: auth })).text();

    const getFile = join(scratch, 'get.json');
    const postFile = join(scratch, 'post.json');
    await writeFile(getFile, gotJson);
    await writeFile(postFile, createdJson);
    const bare = startChild(['bench/bare-json-server.ts', String(barePort), getFile, postFile], {}, 'pipe', o.serverNodeArgs ?? []);
    children.push(bare);
    const bareUrl = String((await firstJsonLine(bare, 'the bare server')).url);

    console.log(`  ${connections} connections, ${durationSec} s per run; API ${apiUrl} (real entry point, rate limits on), bare Koa ${bareUrl}; Redis ${redis.spawned ? 'spawned' : 'local'}, s3rver`);
    if (o.serverNodeArgs?.length) console.log(`  both servers run with ${o.serverNodeArgs.join(' ')}`);
    console.log(`  GET body ${Buffer.byteLength(gotJson)} bytes, POST answer ${Buffer.byteLength(createdJson)} bytes`);

    const wanted = new Set(o.routes ?? ['GET', 'POST']);
    const runs = ([
      { target: 'bare', route: 'GET /v1/analyses/:id', url: `${bareUrl}/v1/analyses/${id}`, method: 'GET' },
      { target: 'api', route: 'GET /v1/analyses/:id', url: `${apiUrl}/v1/analyses/${id}`, method: 'GET' },
      { target: 'bare', route: 'POST /v1/analyses', url: `${bareUrl}/v1/analyses`, method: 'POST' },
      { target: 'api', route: 'POST /v1/analyses', url: `${apiUrl}/v1/analyses`, method: 'POST' },
    ] as const).filter((r) => wanted.has(r.method));
    const rows: LoadRow[] = [];
    for (const run of runs) {
      const request = {
        url: run.url,
        method: run.method,
        headers: { ...auth, ...(run.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(run.method === 'POST' ? { body: postBody } : {}),
        timeout: 10,
      };
      await autocannon({ ...request, connections: 100, duration: 5 });
      await delay(2000);
      const result = await autocannon({ ...request, connections, duration: durationSec });
      rows.push(row(run.target, run.route, result));
      console.log(`  measured ${run.target} ${run.route}: ${Math.round(result.requests.average)} req/s (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
      await delay(2000);
    }

    console.log('');
    printRows(rows);
    console.log('');
    for (const route of ['GET /v1/analyses/:id', 'POST /v1/analyses']) {
      const a = rows.find((r) => r.target === 'api' && r.route === route);
      const b = rows.find((r) => r.target === 'bare' && r.route === route);
      if (!a || !b) continue;
      const ratio = b.requestsPerSec > 0 ? a.requestsPerSec / b.requestsPerSec : 0;
      const verdict = [
        `throughput ${ratio >= MIN_THROUGHPUT_RATIO ? 'ok' : 'BELOW'} (target >= ${MIN_THROUGHPUT_RATIO})`,
        `p99 ${a.p99Ms < MAX_P99_MS ? 'ok' : 'OVER'} (target < ${MAX_P99_MS} ms)`,
        `errors ${a.errors + a.non2xx === 0 ? 'none' : `${a.errors} errors, ${a.non2xx} non-2xx`}`,
      ].join('; ');
      console.log(`  ${route}: api/bare throughput ${ratio.toFixed(2)}, p99 ${a.p99Ms} vs ${b.p99Ms} ms (x${(a.p99Ms / Math.max(1, b.p99Ms)).toFixed(2)}), timeouts ${a.timeouts} vs ${b.timeouts}: ${verdict}`);
    }
  } finally {
    for (const c of children.reverse()) await c.stop();
    const deleted = await deletePrefix(redis.url, prefix).catch(() => 0);
    console.log(`  cleaned up ${deleted} Redis keys under ${prefix}:`);
    await redis.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
