import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { Redis } from 'ioredis';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { ReportHistory } from '../../controller/report/history.ts';
import type { DriftReport } from '../../controller/types.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV_FILE = 'desired-state/dev.yml';
const DEV = parseDesiredState(await readFile(DEV_FILE, 'utf8'), DEV_FILE, {});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/trendctl.mjs` as its own process with only the given environment (plus PATH). */
function trendctl(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/trendctl.mjs', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let emu: AwsEmulator;
let stack: TestStack;
let dir: string;
let awsEnv: Record<string, string>;
/** The JSON report printed by `plan --json` in the drift test, reused by the report test. */
let planned: DriftReport | undefined;

const cli = suite('trendctl as a process');

cli.before(async () => {
  [emu, stack] = await Promise.all([startAwsEmulator(), startTestStack('cli', { s3Buckets: ['content-trends-dev-temp'] })]);
  dir = await mkdtemp(join(tmpdir(), 'trendctl-'));
  await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
  awsEnv = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER', // s3rver checks signatures made with its default key; the AWS emulator accepts any
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    ECS_ENDPOINT: emu.endpoint,
    APPLICATION_AUTOSCALING_ENDPOINT: emu.endpoint,
    S3_ENDPOINT: stack.s3!.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
  };
});

cli.after(async () => {
  await Promise.all([emu.close(), stack.close(), rm(dir, { recursive: true, force: true })]);
});

cli('validate: ok and exit 0 for a real file', async () => {
  const r = await trendctl(['validate', '-f', DEV_FILE], {});
  assert.equal([r.code, r.stdout, r.stderr], [0, `ok: ${DEV_FILE}\n`, '']);
});

cli('validate: every problem with file:line:column and exit 1 for a broken file', async () => {
  const broken = join(dir, 'broken.yml');
  const text = (await readFile(DEV_FILE, 'utf8')).replace('          min: 1\n          max: 4', '          min: 5\n          max: 4').replace('interval: ${RECONCILE_INTERVAL:-60s}', 'interval: often');
  await writeFile(broken, text);
  const r = await trendctl(['validate', '-f', broken], {});
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n'), [
    `invalid desired state ${broken} (2 problems):`,
    `  - ${broken}:12:15 /spec/management/interval: invalid duration "often": use Go syntax like 60s, 5m, 1h30m`,
    `  - ${broken}:40:16 /spec/ecs/services/worker/autoscaling/min: min (5) must be <= max (4)`,
  ]);
});

cli('an unknown command or option: exit 1 with a usage hint', async () => {
  const a = await trendctl(['frobnicate'], {});
  assert.is(a.code, 1);
  assert.match(a.stderr, /^trendctl: unknown command "frobnicate"\nusage: trendctl <command> \[options\]/);
  const b = await trendctl(['plan', '--bogus'], {});
  assert.is(b.code, 1);
  assert.match(b.stderr, /^trendctl plan: Unknown option '--bogus' \(see trendctl plan --help\)/);
});

cli('plan: exit 0 and "No drift" when live matches (s3rver cannot report bucket policies: shown, not an error), without REDIS_URL', async () => {
  const r = await trendctl(['plan', '-f', DEV_FILE], awsEnv);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Desired state: desired-state\/dev\.yml \(content-trends\/dev, mode enforce\)\nCluster: {7}arn:aws:ecs:us-east-1:000000000000:cluster\/content-trends-dev\n/);
  assert.match(r.stdout, /\n {2}\? s3-bucket\/content-trends-dev-temp\n {6}Unsupported by endpoint: GetBucketLifecycleConfiguration answered 501 NotImplemented\n/);
  assert.match(r.stdout, /No drift: 12 resources in sync\. 1 not fully observable \(unsupported by endpoint\)\.\n$/);
});

cli('plan shows drift with exit 2 and writes nothing; apply fixes it (exit 0); plan is then empty', async () => {
  const { autoscaling, ecs } = clientsFor(emu.endpoint);
  try {
    await autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs', ResourceId: 'service/content-trends-dev/content-trends-dev-worker-Service-WORKER1x2Y3z', ScalableDimension: 'ecs:service:DesiredCount', MaxCapacity: 10,
      }),
    );
  } finally {
    autoscaling.destroy();
    ecs.destroy();
  }
  emu.resetCalls();
  const plan = await trendctl(['plan', '-f', DEV_FILE], awsEnv);
  assert.is(plan.code, 2, plan.stderr);
  assert.match(plan.stdout, /\n {2}~ scalable-target\/worker {2}\(service\/content-trends-dev\/content-trends-dev-worker-Service-WORKER1x2Y3z\)\n {6}~ maxCapacity: 10 → 4 {3}# \/spec\/ecs\/services\/worker\/autoscaling\/max\n/);
  assert.match(plan.stdout, /Plan: 0 to create, 1 to update, 0 not correctable here\.\n/);
  assert.is(emu.callCount('RegisterScalableTarget'), 0);

  const json = await trendctl(['plan', '-f', DEV_FILE, '--json'], awsEnv);
  assert.is(json.code, 2);
  planned = JSON.parse(json.stdout) as DriftReport;
  assert.equal(driftReportProblems(planned), []);
  assert.is(planned.summary.drifted, 1);

  const dry = await trendctl(['apply', '-f', DEV_FILE, '--dry-run'], awsEnv);
  assert.is(dry.code, 2);
  assert.match(dry.stdout, /dry-run {2}RegisterScalableTarget scalable-target\/worker maxCapacity: 10 → 4/);
  assert.is(emu.callCount('RegisterScalableTarget'), 0, 'dry run wrote nothing');

  const apply = await trendctl(['apply', '-f', DEV_FILE], awsEnv);
  assert.is(apply.code, 0, apply.stdout + apply.stderr);
  assert.match(apply.stdout, /Writes:\n {2}applied {2}RegisterScalableTarget scalable-target\/worker maxCapacity: 10 → 4\n/);
  assert.is(emu.callCount('RegisterScalableTarget'), 1);

  const again = await trendctl(['plan', '-f', DEV_FILE], awsEnv);
  assert.is(again.code, 0);
});

cli('plan: exit 1 when AWS cannot be reached, with the cause', async () => {
  const r = await trendctl(['plan', '-f', DEV_FILE], { ...awsEnv, ECS_ENDPOINT: 'http://127.0.0.1:9', APPLICATION_AUTOSCALING_ENDPOINT: 'http://127.0.0.1:9' });
  assert.is(r.code, 1);
  assert.match(r.stdout, /Error: observe cluster content-trends-dev: ListServices content-trends-dev: .*ECONNREFUSED/);
});

cli('plan without AWS credentials: one message on stderr naming what is missing and how to provide it, exit 1, no AWS call', async () => {
  // No key pair, no readable shared files, no instance metadata (a CI runner on EC2 would otherwise answer).
  const noCredentials = {
    AWS_REGION: 'us-east-1', ECS_ENDPOINT: emu.endpoint, APPLICATION_AUTOSCALING_ENDPOINT: emu.endpoint, S3_ENDPOINT: stack.s3!.endpoint, S3_FORCE_PATH_STYLE: 'true',
    HOME: dir, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'), AWS_CONFIG_FILE: join(dir, 'no-config'), AWS_EC2_METADATA_DISABLED: 'true',
  };
  emu.resetCalls();
  const r = await trendctl(['plan', '-f', DEV_FILE], noCredentials);
  assert.is(r.code, 1);
  assert.is(r.stdout, '', 'no plan, no per-resource errors');
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines[0], 'trendctl plan: no AWS credentials: the SDK could not load any (CredentialsProviderError: Could not load credentials from any providers).');
  assert.is(r.stderr.match(/CredentialsProviderError/g)?.length, 1, 'said once');
  assert.ok(lines.includes('  - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys);'), r.stderr);
  assert.ok(lines.some((l) => l.startsWith('  - AWS_PROFILE naming a profile')), r.stderr);
  assert.match(lines[lines.length - 1]!, /use AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER\.$/);
  assert.is(emu.callCount(), 0, 'nothing was sent unsigned');

  const half = await trendctl(['apply', '-f', DEV_FILE], { ...noCredentials, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' });
  assert.is(half.code, 1);
  assert.match(half.stderr, /^trendctl apply: no AWS credentials: .*\nAWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both\.\n/);
  assert.not.match(half.stderr, /AKIAEXAMPLE/, 'the key id is not echoed');
});

cli('report: exit 1 without REDIS_URL; prints the latest saved report (text and JSON)', async () => {
  const none = await trendctl(['report'], {});
  assert.is(none.code, 1);
  assert.match(none.stderr, /REDIS_URL: is required for the reconciler role/);

  const env = { REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: stack.keyPrefix };
  const empty = await trendctl(['report'], env);
  assert.is(empty.code, 1);
  assert.match(empty.stderr, new RegExp(`no drift report under ${stack.keyPrefix}:drift:latest yet`));

  assert.ok(planned, 'saved by the plan test above');
  const redis = new Redis(stack.redisUrl);
  try {
    await new ReportHistory(redis, stack.keyPrefix).push(planned!);
  } finally {
    redis.disconnect();
  }
  const text = await trendctl(['report'], env);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Desired state: desired-state\/dev\.yml/);
  const json = await trendctl(['report', '--json'], env);
  assert.equal(JSON.parse(json.stdout), planned);
  const history = await trendctl(['report', '--history', '5'], env);
  assert.match(history.stdout, /^\S+ plan dev: 11 synced, 1 drifted, 0 errors, 0 writes\n$/);
});

cli.run();
