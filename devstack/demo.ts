/**
 * `npm run demo`: the whole engine on this machine, end to end, on a real video.
 *
 * 1. starts the stand-ins (Redis, s3rver behind the S3 bucket-configuration stand-in, Azurite, the ECS/Application
 *    Auto Scaling and Azure AI emulators);
 * 2. seeds the ECS emulator with what `copilot/` deploys for the dev environment;
 * 3. starts api, worker and reconciler as separate processes configured by environment variables only;
 * 4. sends a video through the API and prints keyframes, blob names, model calls and the trend report;
 * 5. changes the worker's scalable target behind the reconciler's back and prints the drift it detected and
 *    corrected;
 * 6. stops everything and checks that no process and no temp file is left.
 *
 * Usage: `npm run demo [-- --video FILE]`. Exit code 0 on success, 1 on any failure (with the failing process's log).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startDevStack, type DevStack } from './stack.ts';
import { startRole, type RoleProcess } from './processes.ts';
import { freePort } from './standins/ports.ts';
import { S3RVER_CREDENTIALS } from './standins/s3.ts';
import { createDevIssuer } from './dev-keys.ts';
import { makeClip, samplePath } from './samples.ts';
import { seedFromCopilot } from './seed-from-copilot.ts';
import { seedStorage } from './seed-storage.ts';
import { loadDesiredState } from '../services/platform/desired-state.ts';
import { apiCall, uploadVideo, waitFor } from './demo-client.ts';
import { printAiMetrics, printAnalysis, printDrift, section } from './demo-print.ts';
import type { AnalysisRecord } from '../services/analyses/types.ts';
import type { DriftReport } from '../controller/types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENVIRONMENT = 'dev';
const DESIRED_STATE_FILE = 'desired-state/dev.yml';
const RECONCILE_INTERVAL_MS = 5000; // the shortest interval the desired-state schema allows
const ANALYSIS_TIMEOUT_MS = 60_000;

/** How long the processes may take to become ready; a loaded 2-core machine needs tens of seconds to load them. */
const READY_TIMEOUT_MS = 120_000;

async function chooseVideo(arg: string | undefined, scratch: string): Promise<{ path: string; origin: string }> {
  if (arg) {
    const path = resolve(arg);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new Error(`--video ${arg}: no such file`);
    if (!info.isFile()) throw new Error(`--video ${arg}: not a regular file`);
    if (info.size === 0) throw new Error(`--video ${arg}: the file is empty (0 bytes)`);
    return { path, origin: 'from --video' };
  }
  const sample = samplePath('flower.mp4');
  if (sample) return { path: sample, origin: 'sample from ../shared/samples/videos' };
  const made = await makeClip(join(scratch, 'demo-clip.mp4'), { seconds: 6, width: 960, height: 540 });
  return { path: made, origin: 'rendered with ffmpeg (no ../shared beside this checkout)' };
}

async function main(): Promise<void> {
  let values: { video?: string };
  try {
    ({ values } = parseArgs({ options: { video: { type: 'string' } }, strict: true }));
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}\nusage: npm run demo [-- --video FILE]`);
    process.exit(2);
  }
  const t0 = Date.now();
  const scratch = await mkdtemp(join(tmpdir(), 'ct-demo-'));
  const workDir = join(scratch, 'work');
  const logDir = join(scratch, 'logs');
  await Promise.all([rm(workDir, { recursive: true, force: true }), rm(logDir, { recursive: true, force: true })]);
  await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(workDir), fs.mkdir(logDir)]));

  let stack: DevStack | undefined;
  const roles: RoleProcess[] = [];
  let failed = false;
  let stopping = false;
  try {
    const video = await chooseVideo(values.video, scratch);
    section('1. Stand-ins');
    stack = await startDevStack();
    console.log(`  redis        ${stack.redis.spawned ? 'spawned ' : 'local   '} ${stack.redis.url}  (key prefix ${stack.keyPrefix})`);
    console.log(`  s3rver                ${stack.s3.s3rverEndpoint}  bucket ${stack.bucket}`);
    console.log(`  S3 bucket-config stand-in  ${stack.s3.endpoint}  (lifecycle, encryption, public access block, policy; the rest forwarded to s3rver)`);
    console.log(`  azurite (blob)        ${stack.blob.url}`);
    console.log(`  ECS + App Auto Scaling emulator  ${stack.aws.endpoint}`);
    console.log(`  Azure AI inference emulator      ${stack.ai.endpoint}`);

    section('2. Seed the emulators: what copilot/ deploys for dev, and the storage account');
    const seeded = await seedFromCopilot({ root: ROOT, environment: ENVIRONMENT, endpoint: stack.aws.endpoint, region: stack.aws.region });
    for (const line of seeded.summary) console.log(`  ${line}`);
    const desired = await loadDesiredState(join(ROOT, DESIRED_STATE_FILE), stack.env);
    const keyframes = desired.spec.storage?.keyframes;
    if (!keyframes) throw new Error(`${DESIRED_STATE_FILE} declares no spec.storage.keyframes`);
    const storage = await seedStorage({ connectionString: stack.blob.connectionString, container: keyframes.container, softDeleteDays: keyframes.softDeleteDays });
    for (const line of storage) console.log(`  ${line}`);

    section('3. Start api, worker and reconciler');
    const issuer = await createDevIssuer();
    const [apiPort, apiMetricsPort, workerMetricsPort, reconcilerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const base = { ...stack.env, DESIRED_STATE_FILE, WORK_DIR: workDir, LOG_LEVEL: 'info' };
    roles.push(
      startRole('api', {
        ...base, API_HOST: '127.0.0.1', API_PORT: String(apiPort), API_METRICS_PORT: String(apiMetricsPort), AUTH_JWT_PUBLIC_KEY: issuer.publicKeyPem,
        AUTH_JWT_ISSUER: issuer.issuer, AUTH_JWT_AUDIENCE: issuer.audience, AUTH_JWT_ALGORITHMS: issuer.algorithm,
      }, logDir, ROOT),
      startRole('worker', { ...base, WORKER_CONCURRENCY: '2', WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: String(workerMetricsPort) }, logDir, ROOT),
      startRole('reconciler', {
        ...base, RECONCILER_HOST: '127.0.0.1', RECONCILER_PORT: String(reconcilerPort), RECONCILE_INTERVAL: `${RECONCILE_INTERVAL_MS}ms`,
      }, logDir, ROOT),
    );
    const api = `http://127.0.0.1:${apiPort}`;
    const reconciler = `http://127.0.0.1:${reconcilerPort}`;
    const watchExit = roles.map((r) => r.exited.then((code) => {
      if (!stopping) throw new Error(`the ${r.role} process exited early (${code})`);
    }));
    watchExit.forEach((w) => w.catch(() => undefined));
    const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, ...watchExit.map((w) => w.then(() => new Promise<never>(() => undefined)))]);
    await guard(waitFor('api /readyz', async () => (await fetch(`${api}/readyz`)).ok, READY_TIMEOUT_MS, 500));
    await guard(waitFor('reconciler /healthz', async () => (await fetch(`${reconciler}/healthz`)).ok, READY_TIMEOUT_MS, 500));
    for (const r of roles) console.log(`  ${r.role.padEnd(10)} pid ${r.child.pid}  log ${r.logFile}`);
    const workerMetrics = `http://127.0.0.1:${workerMetricsPort}/metrics`;
    console.log(`  api        ${api}   reconciler ${reconciler}   worker metrics ${workerMetrics}`);

    section(`4. Analyse ${video.path} (${video.origin})`);
    const token = await issuer.mint({ sub: 'demo-user', tenant_id: 'tenant-demo', scope: 'analyses:read analyses:write admin', tier: 'pro' });
    const upload = await guard(uploadVideo(api, token, video.path));
    console.log(`  uploaded ${upload.bytes} bytes to s3://${stack.bucket}/${upload.videoKey} through a presigned PUT`);
    const created = await guard(apiCall<AnalysisRecord>(api, token, 'POST', '/v1/analyses', { videoKey: upload.videoKey }, { 'Idempotency-Key': `demo-${Date.now()}` }));
    console.log(`  POST /v1/analyses → ${created.id} (${created.status})`);
    let lastStep = '';
    const done = await guard(waitFor('the analysis', async () => {
      const r = await apiCall<AnalysisRecord>(api, token, 'GET', `/v1/analyses/${created.id}`);
      const step = `${r.status} ${r.progress.step} ${r.progress.percent}%`;
      if (step !== lastStep) console.log(`  … ${step}`);
      lastStep = step;
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    }, ANALYSIS_TIMEOUT_MS, 250));
    if (done.status !== 'succeeded' || !done.result) throw new Error(`the analysis failed: ${done.error?.code}: ${done.error?.message}`);
    printAnalysis(done);
    printAiMetrics(workerMetrics, await (await fetch(workerMetrics)).text());

    section('5. Drift: change the worker scalable target behind the reconciler\'s back');
    const aas = new ApplicationAutoScalingClient({ endpoint: stack.aws.endpoint, region: stack.aws.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const resourceId = `service/${seeded.cluster}/${seeded.serviceNames.worker}`;
    // Let the reconciler converge first (its first passes correct what Copilot cannot express).
    const converged = await guard(waitFor('a converged reconciler pass', async () => {
      const r = await fetch(`${reconciler}/drift`);
      if (!r.ok) return undefined;
      const rep = (await r.json()) as DriftReport;
      return rep.summary.drifts === 0 && rep.errors.length === 0 ? rep : undefined;
    }, 30_000, 300));
    const { reports: history } = (await (await fetch(`${reconciler}/drift?history=20`)).json()) as { reports: DriftReport[] };
    for (const a of history.flatMap((r) => r.audit).reverse()) {
      const why = a.resource.startsWith('s3-bucket/') ? 'the demo bucket starts without the Copilot addon\'s settings' : 'what copilot/ cannot express';
      console.log(`  earlier pass wrote: ${a.operation} ${a.resource} ${a.field} (${a.outcome}): ${why}`);
    }
    console.log(`  reconciler converged: pass ${converged.metadata.passId}, ${converged.summary.resources} resources, 0 drift`);
    for (const r of converged.resources.filter((x) => x.service === 'storage')) console.log(`    ${r.resource}: ${r.status} (${r.reasons.join('; ')})`);
    const before = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }));
    const target = before.ScalableTargets?.[0];
    if (!target) throw new Error(`no scalable target ${resourceId} in the emulator`);
    const rogueMax = (target.MaxCapacity ?? 1) + 5;
    const changedAt = new Date().toISOString();
    await aas.send(new RegisterScalableTargetCommand({
      ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: target.MinCapacity, MaxCapacity: rogueMax,
    }));
    console.log(`  RegisterScalableTarget ${resourceId}: MaxCapacity ${target.MaxCapacity} → ${rogueMax} (out of band, at ${changedAt})`);
    const corrected = await guard(waitFor('the reconciler to detect and correct the change', async () => {
      const r = await fetch(`${reconciler}/drift`);
      if (!r.ok) return undefined;
      const rep = (await r.json()) as DriftReport;
      if (rep.metadata.startedAt <= changedAt) return undefined;
      return rep.audit.some((a) => a.resource === 'scalable-target/worker' && a.outcome === 'applied') ? rep : undefined;
    }, 30_000, 300));
    printDrift(corrected);
    const after = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }));
    const finalMax = after.ScalableTargets?.[0]?.MaxCapacity;
    if (finalMax !== target.MaxCapacity) throw new Error(`worker MaxCapacity is ${finalMax}, expected ${target.MaxCapacity} after the correction`);
    console.log(`  live MaxCapacity is back to ${finalMax}; GET /v1/drift on the api serves the same report`);
    const viaApi = await apiCall<DriftReport>(api, token, 'GET', '/v1/drift');
    if (!viaApi.metadata?.passId) throw new Error('GET /v1/drift returned no report');

    section('6. Stop everything');
    stopping = true;
    const codes = await Promise.all(roles.map((r) => r.stop()));
    roles.forEach((r, i) => console.log(`  ${r.role.padEnd(10)} stopped (exit ${codes[i]})`));
    const leftovers = await readdir(workDir);
    if (leftovers.length) throw new Error(`the worker left temp files behind: ${leftovers.join(', ')}`);
    const s3 = new S3Client({ endpoint: stack.s3.endpoint, region: stack.aws.region, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket }));
    if ((objects.KeyCount ?? 0) > 0) throw new Error(`temp objects left in S3: ${(objects.Contents ?? []).map((o) => o.Key).join(', ')}`);
    console.log('  no temp file in the work dir, no temp object in the S3 bucket; the Redis keys under the demo prefix are deleted on exit');
  } catch (err) {
    failed = true;
    console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
    for (const r of roles) console.error(`\n--- last lines of ${r.role}.log ---\n${await r.tail(25)}`);
  } finally {
    await Promise.all(roles.map((r) => r.stop(5000)));
    await stack?.close();
    await rm(scratch, { recursive: true, force: true });
  }
  if (!failed) console.log(`\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s; every process stopped and every temp dir removed`);
  process.exit(failed ? 1 : 0);
}

await main();
