import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { loadDesiredState } from '../../services/platform/desired-state.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { seedFromDesired } from './support/seed.ts';

interface LogLine {
  msg: string;
  [k: string]: unknown;
}

/** The reconciler service as a child process, with its JSON log lines collected as they arrive. */
function startService(env: Record<string, string>): { child: ChildProcess; lines: LogLine[]; stderr(): string; waitFor(msg: string, timeoutMs?: number): Promise<LogLine>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'controller/main.ts'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const waiters: { msg: string; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters.filter((x) => x.msg === line.msg)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitFor: (msg, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => l.msg === msg);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ msg, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      }),
  };
}

let emu: AwsEmulator;
let stack: TestStack;

const service = suite('reconciler service (controller/main.ts) as a process');

service.before(async () => {
  [emu, stack] = await Promise.all([startAwsEmulator(), startTestStack('svc', { s3Buckets: ['content-trends-dev-temp'] })]);
  await seedFromDesired(emu.endpoint, await loadDesiredState('desired-state/dev.yml', {}), { copilotNames: true });
});

service.after(async () => {
  await Promise.all([emu.close(), stack.close()]);
});

service('runs a pass, publishes the queue metric, serves /healthz, /drift and /metrics, and stops cleanly on SIGTERM releasing its lease', async () => {
  const svc = startService({
    REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: stack.keyPrefix, DESIRED_STATE_FILE: 'desired-state/dev.yml',
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', // s3rver's key; the AWS emulator accepts any
    ECS_ENDPOINT: emu.endpoint, APPLICATION_AUTOSCALING_ENDPOINT: emu.endpoint, CLOUDWATCH_ENDPOINT: emu.endpoint,
    S3_ENDPOINT: stack.s3!.endpoint, S3_FORCE_PATH_STYLE: 'true',
    RECONCILER_HOST: '127.0.0.1', RECONCILER_PORT: '0', LOG_LEVEL: 'info',
  });
  const redis = new Redis(stack.redisUrl);
  try {
    const listening = await svc.waitFor('reconciler listening');
    const url = String(listening.url);
    const pass = await svc.waitFor('reconcile pass');
    assert.equal([pass.synced, pass.drifted, pass.errors], [12, 0, 0]);

    const health = await fetch(`${url}/healthz`);
    assert.is(health.status, 200);
    assert.equal(((await health.json()) as { status: string; leader: boolean }).leader, true);

    const drift = await fetch(`${url}/drift`);
    assert.is(drift.status, 200);
    const report = (await drift.json()) as { metadata: { passId: string } };
    assert.equal(driftReportProblems(report), []);
    assert.is(report.metadata.passId, pass.passId);
    const history = (await (await fetch(`${url}/drift?history=5`)).json()) as { reports: unknown[] };
    assert.is(history.reports.length, 1);
    assert.is((await fetch(`${url}/drift?history=0`)).status, 400);
    assert.is((await fetch(`${url}/nope`)).status, 404);
    assert.is((await fetch(`${url}/drift`, { method: 'POST' })).status, 405);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /\nreconciler_passes_total\{outcome="synced"\} 1\n/);
    assert.match(metrics, /\nreconciler_aws_api_calls_total\{api="ecs",operation="DescribeServices",outcome="ok"\} 1\n/);
    assert.match(metrics, /\nreconciler_leader 1\n/);
    assert.match(metrics, /\nreconciler_pass_duration_seconds_count 1\n/);
    // Empty queue, one worker task (autoscaling.min): 0 waiting jobs per task, published before the pass line.
    assert.match(metrics, /\nreconciler_queue_metric_publish_total\{outcome="published"\} 1\n/);
    assert.match(metrics, /\nreconciler_aws_api_calls_total\{api="cloudwatch",operation="PutMetricData",outcome="ok"\} 1\n/);
    const points = emu.metrics.datapoints({ namespace: 'ContentTrends', metricName: 'QueueDepthPerTask' });
    assert.equal(points.map((p) => [p.value, p.unit, p.dimensions]), [[0, 'Count', [{ name: 'Application', value: 'content-trends' }, { name: 'Environment', value: 'dev' }]]]);
    // The same request carried ReconcileErrors: 0 for the clean pass, what the reconcile-errors alarm reads.
    const errorPoints = emu.metrics.datapoints({ namespace: 'ContentTrends', metricName: 'ReconcileErrors' });
    assert.equal(errorPoints.map((p) => [p.value, p.unit, p.dimensions]), [[0, 'Count', [{ name: 'Application', value: 'content-trends' }, { name: 'Environment', value: 'dev' }]]]);

    assert.match(String(await redis.get(`${stack.keyPrefix}:reconciler:leader`)), /-\d+-[0-9a-f]{8}$/);
    svc.child.kill('SIGTERM');
    assert.is(await svc.exited, 0);
    assert.ok(svc.lines.some((l) => l.msg === 'reconciler stopped'));
    assert.is(await redis.get(`${stack.keyPrefix}:reconciler:leader`), null);
    const starting = svc.lines.find((l) => l.msg === 'reconciler starting') as { config: Record<string, unknown> } | undefined;
    assert.is(starting?.config.REDIS_URL, '[redacted]', 'the logged configuration hides the Redis URL');
    assert.not.ok(svc.lines.some((l) => JSON.stringify(l).includes(stack.redisUrl)), 'the Redis URL appears in no log line');
  } finally {
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
    redis.disconnect();
  }
});

service('exits 78 listing configuration problems when DESIRED_STATE_FILE is missing', async () => {
  const svc = startService({ REDIS_URL: stack.redisUrl });
  assert.is(await svc.exited, 78);
});

service('exits 78 naming file:line:column and the JSON path when the desired-state file is invalid, leader or not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-svc-bad-'));
  try {
    const file = join(dir, 'dev.yml');
    const text = readFileSync('desired-state/dev.yml', 'utf8');
    const bad = text.replace(/^(\s+desiredCount:\s*)\d+/m, '$1many');
    assert.is.not(bad, text, 'the fixture changed a desiredCount');
    writeFileSync(file, bad);
    const line = bad.split('\n').findIndex((l) => /desiredCount:\s*many/.test(l)) + 1;
    const svc = startService({ REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: 'svc-bad', DESIRED_STATE_FILE: file, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ECS_ENDPOINT: emu.endpoint, APPLICATION_AUTOSCALING_ENDPOINT: emu.endpoint, RECONCILER_PORT: '0' });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([svc.exited, new Promise<string>((r) => (timer = setTimeout(() => r('still running after 20 s'), 20_000)))]);
    clearTimeout(timer);
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
    assert.is(code, 78);
    assert.match(svc.stderr(), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+ /spec/ecs/services/[^ ]+/desiredCount`));
    assert.not.ok(svc.lines.some((l) => l.msg === 'reconciler listening'), 'it never served /healthz');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

service.run();
