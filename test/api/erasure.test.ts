/**
 * DELETE /v1/analyses/:id (GDPR erasure) against real Redis, BullMQ, s3rver and Azurite: the record, keyframe blobs,
 * the uploaded video, the queue job, attributable AI cache entries (as a real AI coordinator against the AI emulator
 * indexes them), per-analysis usage and the idempotency key are erased and reported; everything belonging to others
 * survives; a running analysis is refused; a deployment without keyframe storage erases nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Worker } from 'bullmq';
import { AzureKeyCredential } from '@azure/core-auth';
import sharp from 'sharp';
import { startAiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator } from '../../services/ai/coordinator.ts';
import { cacheEntryKey } from '../../services/ai/response-cache.ts';
import { UsageLedger } from '../../services/ai/usage-ledger.ts';
import { createRedis } from '../../services/platform/redis.ts';
import type { AnalysisRecord, ModelCallRecord } from '../../services/analyses/types.ts';
import { analysisUsageKey, cacheIndexKey, eraseAnalysis, type ErasureReport } from '../../services/api/operations/erase-analysis.ts';
import { createBlobServiceClient } from '../../services/platform/blob.ts';
import { createLogger } from '../../services/platform/logger.ts';
import { RequestValidators } from '../../services/api/openapi.ts';
import { resultWith, trendReport } from './analysis-fixtures.ts';
import { dataOf, errorOf, startApiHarness, TEST_BUCKET, type ApiHarness } from './api-harness.ts';
import { EMULATOR_MODELS, deployment } from '../ai/support/ai-harness.ts';

const AI_KEY = 'dev-key-erasure-test';

const h: ApiHarness = await startApiHarness('api-erasure', { blob: true });
const keyframes = h.keyframes!;
const writer = await h.token('analyses:write analyses:read');
const prefix = h.config.REDIS_KEY_PREFIX;
const erasureSchema = new RequestValidators(h.api.document).schema('/components/schemas/ErasureReportEnvelope');
const errorSchema = new RequestValidators(h.api.document).schema('/components/schemas/ErrorEnvelope');
const ledger = new UsageLedger(h.redis, prefix);

/** Uploads a video through the API's presigned URL and creates an analysis of it with `idempotencyKey`. */
async function createAnalysis(idempotencyKey: string, token = writer): Promise<AnalysisRecord> {
  const ticket = dataOf<{ uploadUrl: string; videoKey: string; headers: Record<string, string> }>(
    await h.call('POST', '/v1/uploads', { token, body: { contentType: 'video/mp4', bytes: 2048 } }),
  );
  assert.is((await fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: randomBytes(2048) })).status, 200);
  const r = await h.call('POST', '/v1/analyses', { token, body: { videoKey: ticket.videoKey }, headers: { 'idempotency-key': idempotencyKey } });
  assert.is(r.status, 202, r.text);
  return dataOf<AnalysisRecord>(r);
}

/** Writes what the worker and the AI coordinator leave behind for an analysis. */
async function leaveTraces(id: string, tenantId = 'acme'): Promise<{ hashes: string[] }> {
  for (let i = 0; i < 3; i++) await keyframes.getBlockBlobClient(`${id}/keyframe-${i}-${i * 1000}.jpg`).upload(Buffer.from(`jpeg ${i}`), 6);
  const hashes = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
  for (const hash of hashes) await h.redis.set(`${prefix}:ai:cache:${hash}`, JSON.stringify({ text: 'a note', modelName: 'm', model: 'm', storedAt: '' }));
  await h.redis.sadd(cacheIndexKey(prefix, id), ...hashes);
  const call: ModelCallRecord = { task: 'vision', modelName: 'llama-vision', model: 'x', promptTokens: 10, completionTokens: 5, costUsd: 0.001, durationMs: 5, cached: false };
  await ledger.record(tenantId, id, '2025-03-01', call, 0);
  return { hashes };
}

async function blobNames(p: string): Promise<string[]> {
  const names: string[] = [];
  for await (const b of keyframes.listBlobsFlat({ prefix: p })) names.push(b.name);
  return names;
}

async function objectExists(key: string): Promise<boolean> {
  return h.s3.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: key })).then(
    () => true,
    () => false,
  );
}

const erase = suite('DELETE /v1/analyses/:id');

erase('erases a finished analysis and everything derived from it, and says what it erased', async () => {
  const rec = await createAnalysis('erase-me');
  const bystander = await createAnalysis('keep-me');
  const { hashes } = await leaveTraces(rec.id);
  await leaveTraces(bystander.id);
  const unrelatedCache = `${prefix}:ai:cache:${randomBytes(32).toString('hex')}`;
  await h.redis.set(unrelatedCache, '{}');
  await h.store.markRunning(rec.id);
  await h.store.complete(rec.id, resultWith(trendReport({ virality: 70 })));

  const r = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: writer, headers: { 'x-request-id': 'erase-1' } });
  assert.is(r.status, 200, r.text);
  assert.ok(erasureSchema(r.body), JSON.stringify(erasureSchema.errors));
  assert.equal(dataOf<ErasureReport>(r), {
    analysisId: rec.id,
    erased: { record: true, keyframes: 3, tempObject: true, job: true, cacheEntries: 2, idempotencyKey: true, usageRecord: true },
  });

  assert.is((await h.call('GET', `/v1/analyses/${rec.id}`, { token: writer })).status, 404);
  const listed = dataOf<{ items: Array<{ id: string }> }>(await h.call('GET', '/v1/analyses?limit=100', { token: writer })).items.map((i) => i.id);
  assert.not.ok(listed.includes(rec.id), 'gone from the listing');
  assert.ok(listed.includes(bystander.id));
  assert.equal(await blobNames(`${rec.id}/`), []);
  assert.is((await blobNames(`${bystander.id}/`)).length, 3, "another analysis's keyframes survive");
  assert.not.ok(await objectExists(rec.videoKey));
  assert.ok(await objectExists(bystander.videoKey));
  assert.is(await h.queue.getJob(rec.id), undefined);
  assert.ok(await h.queue.getJob(bystander.id));
  for (const hash of hashes) assert.is(await h.redis.exists(`${prefix}:ai:cache:${hash}`), 0);
  assert.is(await h.redis.exists(cacheIndexKey(prefix, rec.id)), 0);
  assert.is(await h.redis.exists(unrelatedCache), 1, 'cache entries of no analysis survive');
  assert.is(await h.redis.exists(analysisUsageKey(prefix, 'acme', rec.id)), 0);
  assert.is(await h.redis.exists(ledger.dayKey('acme', '2025-03-01')), 1, "the tenant's daily totals stay");

  const logged = await h.waitForLog((l) => l.msg === 'analysis erased' && l.requestId === 'erase-1');
  assert.is(logged.analysisId, rec.id);

  // The Idempotency-Key is free again: the same key now creates a new analysis.
  const again = await createAnalysis('erase-me');
  assert.is.not(again.id, rec.id);
});

erase('a second DELETE is 404; a queued analysis is erased with its waiting job', async () => {
  const rec = await createAnalysis('queued-one');
  assert.is(await (await h.queue.getJob(rec.id))?.getState(), 'prioritized');
  const first = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: writer });
  assert.equal(dataOf<ErasureReport>(first).erased, { record: true, keyframes: 0, tempObject: true, job: true, cacheEntries: 0, idempotencyKey: true, usageRecord: false });
  const second = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: writer });
  assert.is(second.status, 404);
  assert.is(errorOf(second).code, 'not_found');
});

erase("another tenant's analysis is 404 and nothing of it is touched", async () => {
  const rec = await createAnalysis('cross-tenant');
  await leaveTraces(rec.id);
  const globex = await h.token('analyses:write', { tenant_id: 'globex' });
  const r = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: globex });
  assert.is(r.status, 404);
  assert.is(errorOf(r).code, 'not_found');
  assert.is((await h.call('GET', `/v1/analyses/${rec.id}`, { token: writer })).status, 200);
  assert.is((await blobNames(`${rec.id}/`)).length, 3);
  assert.ok(await h.queue.getJob(rec.id));
});

erase('a running analysis is 409 analysis_running and nothing is erased', async () => {
  const rec = await createAnalysis('running-one');
  await leaveTraces(rec.id);
  await h.store.markRunning(rec.id);
  const r = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: writer });
  assert.is(r.status, 409);
  assert.ok(errorSchema(r.body), JSON.stringify(errorSchema.errors));
  assert.is(errorOf(r).code, 'analysis_running');
  assert.is((await blobNames(`${rec.id}/`)).length, 3);
  assert.ok(await objectExists(rec.videoKey));
  assert.is(dataOf<AnalysisRecord>(await h.call('GET', `/v1/analyses/${rec.id}`, { token: writer })).status, 'running');
});

erase('a queued analysis whose job a worker has just locked is 409 too, with the job and record intact', async () => {
  const rec = await createAnalysis('locked-one');
  const connection = createRedis(h.stack.redisUrl, 'worker');
  const worker = new Worker(h.config.QUEUE_NAME, null, { connection, prefix, autorun: false });
  try {
    // Take jobs by hand as a worker does (BullMQ "manually processing jobs") until ours is locked.
    for (let i = 0; i < 20; i++) {
      const job = await worker.getNextJob('test-lock-token');
      if (!job || job.id === rec.id) break;
    }
    assert.is(await (await h.queue.getJob(rec.id))?.getState(), 'active');
    const r = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: writer });
    assert.is(r.status, 409, r.text);
    assert.is(errorOf(r).code, 'analysis_running');
    assert.is((await h.call('GET', `/v1/analyses/${rec.id}`, { token: writer })).status, 200);
    assert.ok(await objectExists(rec.videoKey));
  } finally {
    await worker.close(true);
    connection.disconnect();
  }
});

erase('analyses:read cannot erase: 403', async () => {
  const rec = await createAnalysis('scoped');
  const r = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: await h.token('analyses:read') });
  assert.is(r.status, 403);
});

erase('a keyframes container that does not exist yet means no keyframes, not an error', async () => {
  const rec = await createAnalysis('no-container');
  const never = createBlobServiceClient(h.config).getContainerClient('never-created');
  const caller = { subject: 'user-1', tenantId: 'acme', scopes: new Set(['analyses:write']), tier: 'pro' as const };
  const deps = { store: h.store, queue: h.queue, s3: h.s3, bucket: TEST_BUCKET, keyframes: never, redis: h.redis, prefix };
  const report = await eraseAnalysis(deps, caller, rec.id, createLogger('test', 'silent'));
  assert.equal([report.erased.record, report.erased.keyframes, report.erased.tempObject], [true, 0, true]);
});

erase('erases the AI cache entries a real coordinator stored or served for the analysis, and counts exactly those', async () => {
  const rec = await createAnalysis('erase-ai-cache');
  const bystander = await createAnalysis('keep-ai-cache');
  const emu = await startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [AI_KEY] });
  const workerRedis = createRedis(h.stack.redisUrl, 'worker');
  const ai = createAiCoordinator({ models: [deployment(emu.endpoint, 'vision')], credential: new AzureKeyCredential(AI_KEY), redis: workerRedis, keyPrefix: prefix, allowInsecureConnection: true, timeoutMs: 10_000 });
  try {
    const jpeg = (background: string): Promise<Buffer> => sharp({ create: { width: 32, height: 32, channels: 3, background } }).jpeg().toBuffer();
    const [red, green, blue, grey] = [await jpeg('#cc3333'), await jpeg('#33cc33'), await jpeg('#3333cc'), await jpeg('#808080')];
    const describe = (image: Buffer, analysisId: string) =>
      ai.describeImage({ image, mimeType: 'image/jpeg', prompt: 'Describe this keyframe.', context: { tenantId: 'acme', analysisId } });
    // The bystander stores blue and grey; the analysis stores red and green, is answered red again from its own
    // entry, and blue from the bystander's (the same keyframe in two videos costs one call).
    await describe(blue, bystander.id);
    await describe(grey, bystander.id);
    await h.store.markRunning(rec.id);
    const calls = [await describe(red, rec.id), await describe(green, rec.id), await describe(red, rec.id), await describe(blue, rec.id)];
    assert.equal(calls.map((c) => c.record.cached), [false, false, true, true]);
    await ai.settle(); // as the worker does before it stores a result: the calls' cache index is in Redis
    await h.store.complete(rec.id, resultWith(trendReport({ virality: 40 })));
    const indexed = await h.redis.smembers(cacheIndexKey(prefix, rec.id));
    assert.is(indexed.length, 3, 'red and green stored, blue served');
    for (const hash of indexed) assert.is(await h.redis.exists(cacheEntryKey(prefix, hash)), 1);

    const r = await h.call('DELETE', `/v1/analyses/${rec.id}`, { token: writer });
    assert.is(r.status, 200, r.text);
    const erased = dataOf<ErasureReport>(r).erased;
    assert.is(erased.cacheEntries, indexed.length);
    assert.ok(erased.usageRecord, 'the coordinator recorded usage for the analysis');
    for (const hash of indexed) assert.is(await h.redis.exists(cacheEntryKey(prefix, hash)), 0);
    assert.is(await h.redis.exists(cacheIndexKey(prefix, rec.id)), 0);
    // The bystander's grey entry survives; its blue one went with the analysis it also answered.
    const kept = await h.redis.smembers(cacheIndexKey(prefix, bystander.id));
    assert.equal((await Promise.all(kept.map((hash) => h.redis.exists(cacheEntryKey(prefix, hash))))).sort(), [0, 1]);
    assert.is((await describe(red, bystander.id)).record.cached, false, 'an erased entry answers nobody');
  } finally {
    await ai.close();
    workerRedis.disconnect();
    await emu.close();
  }
});

erase.after(async () => {
  await h.close();
});

const unconfigured = suite('without keyframe storage');

unconfigured('DELETE is 503 erasure_unavailable and erases nothing', async () => {
  const d = await startApiHarness('api-erasure-noblob');
  try {
    const token = await d.token('analyses:write analyses:read');
    const ticket = dataOf<{ uploadUrl: string; videoKey: string; headers: Record<string, string> }>(await d.call('POST', '/v1/uploads', { token, body: { contentType: 'video/mp4', bytes: 16 } }));
    await fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: Buffer.alloc(16) });
    const rec = dataOf<AnalysisRecord>(await d.call('POST', '/v1/analyses', { token, body: { videoKey: ticket.videoKey } }));
    const r = await d.call('DELETE', `/v1/analyses/${rec.id}`, { token });
    assert.is(r.status, 503);
    assert.is(errorOf(r).code, 'erasure_unavailable');
    assert.match(errorOf(r).message, /nothing was erased/);
    assert.is((await d.call('GET', `/v1/analyses/${rec.id}`, { token })).status, 200);
    assert.ok(await d.queue.getJob(rec.id));
  } finally {
    await d.close();
  }
});

erase.run();
unconfigured.run();
