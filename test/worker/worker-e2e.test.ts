/**
 * End to end through the real entry point: `services/worker/main.ts` runs as a child process (as in ECS) against
 * the stand-ins (Redis, s3rver, Azurite) and the Azure AI inference emulator, with the real AI coordinator
 * (routing, quotas, cache, accounting) and the model registry of desired-state/dev.yml. Covers: a full analysis,
 * the response cache on a repeated video, graceful SIGTERM (exit 0), and a SIGKILLed worker's job finishing once
 * on another worker (stalled-job recovery).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { samplePath, makeClip } from '../../devstack/samples.ts';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { BUCKET, CONTAINER, bytesOf, startHarness } from './pipeline-harness.ts';
import { fixtureDir } from '../media/media-fixtures.ts';
import { spawnWorker, type WorkerProc } from './worker-process.ts';

const API_KEY = 'e2e-test-key';
const h = await startHarness('worker-e2e');
const fx = await fixtureDir('worker-e2e');
const emulator: AiEmulator = await startAiEmulator({
  models: [
    { name: 'Llama-3.2-90B-Vision-Instruct', provider: 'Meta', vision: true, maxImageEdgePx: 1120 },
    { name: 'DeepSeek-R1', provider: 'DeepSeek', reasoning: true },
  ],
  apiKeys: [API_KEY],
});
const children = new Set<ChildProcess>();
test.after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await emulator.close();
  await h.close();
  await fx.cleanup();
});

/** Starts `services/worker/main.ts` against this file's stand-ins (see ./worker-process.ts). */
function startWorker(queueName: string, workDir: string): WorkerProc {
  const w = spawnWorker({
    APP_PROFILE: 'dev',
    LOG_LEVEL: 'info',
    REDIS_URL: h.stack.redisUrl,
    REDIS_KEY_PREFIX: h.stack.keyPrefix,
    QUEUE_NAME: queueName,
    S3_TEMP_BUCKET: BUCKET,
    S3_ENDPOINT: h.stack.s3!.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AZURE_STORAGE_CONNECTION_STRING: h.stack.blob!.connectionString,
    KEYFRAMES_CONTAINER: CONTAINER,
    DESIRED_STATE_FILE: 'desired-state/dev.yml',
    AI_FOUNDRY_ENDPOINT: emulator.endpoint,
    AI_AUTH: 'key',
    AZURE_AI_API_KEY: API_KEY,
    WORK_DIR: workDir,
    KEYFRAMES_MAX: '6',
    WORKER_CONCURRENCY: '2',
    JOB_LOCK_DURATION_MS: '4000',
    SHUTDOWN_GRACE_MS: '10000',
    AI_TENANT_DAILY_BUDGETS_USD: 'broke-tenant=0',
  });
  children.add(w.child);
  return w;
}

const videoFile = samplePath('flower.mp4') ?? (await makeClip(fx.path('clip.mp4'), { seconds: 5 }));
if (!samplePath('flower.mp4')) console.log('skip: flower.mp4 absent (../shared not present) — using a generated clip instead');

test('main.ts analyses an upload with the real coordinator and the emulator, then stops on SIGTERM with exit 0', async () => {
  const workDir = join(fx.dir, 'work-a');
  await mkdir(workDir);
  const queue = h.queue('e2e-main');
  const w = startWorker('e2e-main', workDir);
  const started = await w.waitLog((l) => l.event === 'worker_started');

  const key = await h.upload(await bytesOf(videoFile));
  const id = await h.submit(queue, key, { attempts: 2 });
  const rec = await h.waitFinal(queue, id);
  assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
  const r = rec.result!;
  const vision = r.modelCalls.filter((c) => c.task === 'vision');
  const text = r.modelCalls.filter((c) => c.task === 'text');
  assert.is(vision.length, r.keyframes.length);
  assert.ok(vision.every((c) => c.modelName === 'llama-vision' && c.model === 'Llama-3.2-90B-Vision-Instruct' && c.promptTokens > 0 && c.costUsd > 0));
  assert.ok(text.length >= 1 && text.every((c) => c.modelName === 'deepseek'));
  assert.ok(r.totalCostUsd > 0);
  // The emulator saw one chat call per keyframe for the vision model and the report call(s) for DeepSeek.
  assert.is(emulator.calls.count({ route: 'chat/completions', model: 'Llama-3.2-90B-Vision-Instruct', status: 200 }), r.keyframes.length);
  assert.is(emulator.calls.count({ route: 'chat/completions', model: 'DeepSeek-R1', status: 200 }), text.length);
  // The report is schema-valid (the pipeline checked it) and its notes are the keyframes'.
  const report = r.report as { keyframeNotes: Array<{ index: number }>; summary: string };
  assert.ok(report.summary.length > 0);
  assert.equal(report.keyframeNotes.map((n) => n.index), r.keyframes.map((k) => k.index).filter((i) => report.keyframeNotes.some((n) => n.index === i)));
  assert.equal(await h.blobNames(`${id}/`), r.keyframes.map((k) => k.blobName).sort());
  assert.not.ok(await h.s3Exists(key));
  assert.equal(await readdir(workDir), [], 'temp dir removed');

  // The same video again with the same options: the first analysis is reused (idempotency by content), no call.
  const visionCallsBefore = emulator.calls.count({ route: 'chat/completions', model: 'Llama-3.2-90B-Vision-Instruct' });
  const same = await h.waitFinal(queue, await h.submit(queue, await h.upload(await bytesOf(videoFile)), { attempts: 2 }));
  assert.is(same.status, 'succeeded', JSON.stringify(same.error));
  assert.equal(same.result!.report, r.report);
  assert.equal(same.result!.modelCalls, []);
  assert.is(same.result!.reusedFrom, id, 'the result says whose it is');
  assert.is(emulator.calls.count({ route: 'chat/completions', model: 'Llama-3.2-90B-Vision-Instruct' }), visionCallsBefore);

  // With the content index entry gone (expired), the same video runs again, and every keyframe description comes
  // from the response cache, at no cost.
  const contentKeys = await h.redis.keys(`${h.stack.keyPrefix}:content:*`);
  assert.is(contentKeys.length, 1);
  await h.redis.del(...contentKeys);
  const key2 = await h.upload(await bytesOf(videoFile));
  const id2 = await h.submit(queue, key2, { attempts: 2 });
  const rec2 = await h.waitFinal(queue, id2);
  assert.is(rec2.status, 'succeeded', JSON.stringify(rec2.error));
  const vision2 = rec2.result!.modelCalls.filter((c) => c.task === 'vision');
  assert.ok(vision2.length > 0 && vision2.every((c) => c.cached && c.costUsd === 0), JSON.stringify(vision2));
  assert.is(emulator.calls.count({ route: 'chat/completions', model: 'Llama-3.2-90B-Vision-Instruct' }), visionCallsBefore);

  // A tenant whose daily budget (AI_TENANT_DAILY_BUDGETS_USD) is spent: refused before any model call, and failed at
  // once (not retried until midnight). Another container so neither reuse nor the cache answers it.
  const callsBeforeBroke = emulator.calls.count({ route: 'chat/completions' });
  const broke = await h.waitFinal(queue, await h.submit(queue, await h.upload(await bytesOf(await makeClip(fx.path('broke.mp4'), { seconds: 2 }))), { attempts: 2, tenantId: 'broke-tenant' }));
  assert.equal([broke.status, broke.error?.code, broke.attempts], ['failed', 'budget_exceeded', 1], JSON.stringify(broke.error));
  assert.is(emulator.calls.count({ route: 'chat/completions' }), callsBeforeBroke, 'no model call was made');

  // The worker's Prometheus listener shows what the AI coordinator did (issue 5 §4, §5: hit rate and cost in metrics).
  const scrape = await fetch(String(started.metricsUrl));
  assert.is(scrape.status, 200);
  const sample = (name: string, labels: Record<string, string>): number => {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const lines = exposition.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
    return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  const exposition = await scrape.text();
  assert.is(sample('ai_calls_total', { model: 'llama-vision', task: 'vision', outcome: 'ok' }), vision.length, exposition);
  assert.is(sample('ai_cache_lookups_total', { task: 'vision', result: 'hit' }), vision2.length);
  const visionUsd = vision.reduce((s, c) => s + c.costUsd, 0);
  assert.ok(Math.abs(sample('ai_cost_usd_total', { model: 'llama-vision', task: 'vision' }) - visionUsd) < 1e-9, 'USD in metrics = USD in the result');
  assert.ok(sample('ai_calls_total', { outcome: 'budget_exceeded' }) >= 1, 'the refused call is counted');
  assert.match(exposition, /^worker_process_cpu_seconds_total /m, 'process metrics too');
  assert.is((await fetch(String(started.metricsUrl).replace('/metrics', '/v1/analyses'))).status, 404, 'the listener serves /metrics only');

  // One log line per job with its timings.
  const line = await w.waitLog((l) => l.event === 'analysis_succeeded' && l.analysisId === id);
  assert.type((line.timingsMs as Record<string, number>).keyframes, 'number');

  w.child.kill('SIGTERM');
  assert.is(await w.exited, 0);
  assert.ok(w.logs.some((l) => l.event === 'worker_stopped' && l.outcome === 'closed'));
});

test('SIGTERM during a job: the active job finishes within the grace period, then exit 0', async () => {
  const workDir = join(fx.dir, 'work-term');
  await mkdir(workDir);
  const queue = h.queue('e2e-term');
  emulator.faults.latency(700);
  try {
    const w = startWorker('e2e-term', workDir);
    await w.waitLog((l) => l.event === 'worker_started');
    const clip = await makeClip(fx.path('term.mp4'), { seconds: 4, audio: false });
    const key = await h.upload(await bytesOf(clip));
    const id = await h.submit(queue, key, { attempts: 1 });
    for (let i = 0; i < 600; i++) {
      if ((await h.store.get(id))?.progress.step === 'vision') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    w.child.kill('SIGTERM');
    assert.is(await w.exited, 0);
    assert.ok(w.logs.some((l) => l.event === 'worker_stopped' && l.outcome === 'closed'), 'closed within the grace period');
    const rec = await h.store.get(id);
    assert.is(rec?.status, 'succeeded', JSON.stringify(rec?.error));
    assert.not.ok(await h.s3Exists(key));
    assert.equal(await readdir(workDir), []);
  } finally {
    emulator.faults.latency(0);
  }
});

test('a SIGKILLed worker’s job is picked up by another worker and finishes once', async () => {
  const workDirA = join(fx.dir, 'work-kill-a');
  const workDirB = join(fx.dir, 'work-kill-b');
  await mkdir(workDirA);
  await mkdir(workDirB);
  const queue = h.queue('e2e-kill');
  emulator.faults.latency(1500); // slow model: the job is surely in the vision step when the worker dies
  try {
    const a = startWorker('e2e-kill', workDirA);
    await a.waitLog((l) => l.event === 'worker_started');
    // A frame size no other test here uses: its keyframes must not be answered from the AI response cache.
    const clip = await makeClip(fx.path('kill.mp4'), { seconds: 4, audio: false, width: 352, height: 288 });
    const key = await h.upload(await bytesOf(clip));
    const id = await h.submit(queue, key, { attempts: 2 });
    for (let i = 0; i < 600; i++) {
      const r = await h.store.get(id);
      if (r?.progress.step === 'vision') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    a.child.kill('SIGKILL');
    await a.exited;
    emulator.faults.latency(0);

    const b = startWorker('e2e-kill', workDirB);
    const rec = await h.waitFinal(queue, id, 90_000);
    assert.is(rec.status, 'succeeded', JSON.stringify(rec.error));
    assert.is(rec.attempts, 2, 'started twice: once on the killed worker, once on the survivor');
    const job = await queue.getJob(id);
    assert.is(await job!.getState(), 'completed');
    assert.is(b.logs.filter((l) => l.event === 'analysis_succeeded' && l.analysisId === id).length, 1);
    assert.equal(await h.blobNames(`${id}/`), rec.result!.keyframes.map((k) => k.blobName).sort(), 'no duplicate keyframes');
    assert.not.ok(await h.s3Exists(key));
    b.child.kill('SIGTERM');
    assert.is(await b.exited, 0);
  } finally {
    emulator.faults.latency(0);
  }
});

test('main.ts exits 78 naming every configuration problem, and names a bad desired-state file', async () => {
  const run = (env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'services/worker/main.ts'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      children.add(child);
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
  const empty = await run({});
  assert.is(empty.code, 78);
  assert.match(empty.stderr, /REDIS_URL: is required for the worker role/);
  assert.match(empty.stderr, /S3_TEMP_BUCKET: is required/);
  assert.match(empty.stderr, /DESIRED_STATE_FILE: is required/);
  const badFile = await run({
    REDIS_URL: h.stack.redisUrl, S3_TEMP_BUCKET: BUCKET, AZURE_STORAGE_CONNECTION_STRING: h.stack.blob!.connectionString,
    DESIRED_STATE_FILE: 'desired-state/no-such-env.yml', AI_AUTH: 'key', AZURE_AI_API_KEY: API_KEY,
  });
  assert.is(badFile.code, 78);
  assert.match(badFile.stderr, /desired-state\/no-such-env\.yml/);
  assert.not.match(badFile.stderr, new RegExp(API_KEY), 'the key is never printed');
  // A metrics port already taken is a configuration problem too: exit 78 naming the variables, before any connection.
  const taken = createNetServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const busy = await run({
      REDIS_URL: h.stack.redisUrl, S3_TEMP_BUCKET: BUCKET, AZURE_STORAGE_CONNECTION_STRING: h.stack.blob!.connectionString,
      DESIRED_STATE_FILE: 'desired-state/dev.yml', AI_AUTH: 'key', AZURE_AI_API_KEY: API_KEY,
      WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: String((taken.address() as AddressInfo).port),
    });
    assert.is(busy.code, 78, busy.stderr);
    assert.match(busy.stderr, /WORKER_METRICS_HOST, WORKER_METRICS_PORT: cannot listen on 127\.0\.0\.1:\d+ \(listen EADDRINUSE[^)]*\); choose another port, or 0 for a free one/);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

test.run();
