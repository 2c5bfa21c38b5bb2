/**
 * Issue 5 §3 over HTTP: the AI emulator answers 429 for 5 s; a batch of 8 concurrent describeImage jobs from two
 * coordinator instances (two Redis connections, one key prefix, as two worker replicas) all complete, with the
 * default retry budget; no job calls again before the server's stated wait; and the total number of calls stays
 * under a stated bound, thanks to the shared hold and the probe gate (services/ai/quota-limiter.ts). Also: a
 * replica that never saw the 429 waits on the shared "hold-off until" marker too.
 *
 * A recording proxy (support/recording-proxy.ts) ties each call to its job through a `[job:<id>]` tag in the
 * prompt. No timing assertion beyond "no call before the stated wait" lower bounds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AzureKeyCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { createAiCoordinator, type AiCoordinatorOptions } from '../../services/ai/coordinator.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { EMULATOR_MODELS, deployment, makeKeyframeJpegs } from './support/ai-harness.ts';
import { startRecordingProxy, type ProxiedCall, type RecordingProxy } from './support/recording-proxy.ts';

const KEY = 'dev-key-throttling';
const JOBS = 8;
const THROTTLE_MS = 5_000;
let stack: TestStack;
let redisA: Redis;
let redisB: Redis;
let emu: AiEmulator;
let proxy: RecordingProxy;
let jpeg: Buffer;
let n = 0;

test.before(async () => {
  let frames: Buffer[];
  [stack, emu, frames] = await Promise.all([startTestStack('ai-throttle'), startAiEmulator({ models: EMULATOR_MODELS, apiKeys: [KEY] }), makeKeyframeJpegs([1])]);
  jpeg = frames[0]!;
  proxy = await startRecordingProxy(emu.baseUrl);
  redisA = new Redis(stack.redisUrl);
  redisB = new Redis(stack.redisUrl);
});

test.after(async () => {
  redisA.disconnect();
  redisB.disconnect();
  await Promise.all([proxy.close(), emu.close(), stack.close()]);
});

test.before.each(() => {
  emu.faults.clear();
});

/** A coordinator on the proxy with the default retry budget and breaker; cache off so every job calls the model. */
function coordinator(prefix: string, redis: Redis, over: Partial<AiCoordinatorOptions> = {}) {
  return createAiCoordinator({
    models: [deployment(proxy.endpoint, 'vision')],
    credential: new AzureKeyCredential(KEY),
    redis,
    keyPrefix: prefix,
    allowInsecureConnection: true,
    timeoutMs: 5_000,
    cacheTtlSec: 0,
    ...over,
  });
}

function describe(ai: ReturnType<typeof coordinator>, job: string) {
  return ai.describeImage({ image: jpeg, mimeType: 'image/jpeg', prompt: `[job:${job}] Describe the scene in one sentence.`, context: { tenantId: 'acme', analysisId: 'an-throttle' } });
}

function byJob(calls: readonly ProxiedCall[]): Map<string, ProxiedCall[]> {
  const out = new Map<string, ProxiedCall[]>();
  for (const c of calls) out.set(c.job, [...(out.get(c.job) ?? []), c]);
  for (const list of out.values()) list.sort((x, y) => x.arrivedAtMs - y.arrivedAtMs);
  return out;
}

/**
 * Runs the batch against a 5 s throttle and checks what both header modes share: every job completes with one 200
 * as its last call, and the bound. Returns each job's calls for mode-specific checks.
 *
 * The bound: every job sends at most one call before the first 429 comes back (the first wave, ≤ 8 calls, all
 * possibly 429). After that the shared hold and the probe gate let one call (the probe) out per round, and a round
 * lasts at least 1 s: the stated wait in mode A, and in both modes the 1 s server hint from the 429's
 * `x-ratelimit-remaining-requests: 0` (SERVER_HINT_DEFAULT_MS). Probes arriving within the 5 s window are at most
 * 4 (at ≥ 1, 2, 3, 4 s after the first 429), then the next probe is answered and every job sends one last call
 * (≤ 8 answers). So calls ≤ 8 + 4 + 8 = 20 and 429s ≤ 12, where retrying jobs without shared state would send
 * up to 8 × 6 = 48. Each job sends at most 1 + 4 + 1 = 6 calls, the default maxAttempts.
 */
async function throttledBatch(header: 'retry-after-ms' | 'none'): Promise<Map<string, ProxiedCall[]>> {
  const prefix = `${stack.keyPrefix}:${++n}`;
  const a = coordinator(prefix, redisA);
  const b = coordinator(prefix, redisB);
  const tag = `${header === 'none' ? 'n' : 'm'}${n}`;
  const start = proxy.calls.length;
  emu.faults.throttle({ forMs: THROTTLE_MS, header, ...(header === 'retry-after-ms' ? { retryAfterMs: 1_000 } : {}) });
  const results = await Promise.all(Array.from({ length: JOBS }, (_, i) => describe(i % 2 ? a : b, `${tag}-${i}`)));
  for (const r of results) assert.ok(r.text.length > 0 && !r.record.cached);
  const calls = proxy.calls.slice(start).filter((c) => c.job.startsWith(`${tag}-`));
  const jobs = byJob(calls);
  assert.is(jobs.size, JOBS);
  for (const [job, list] of jobs) {
    assert.equal(list.map((c) => c.status), [...Array(list.length - 1).fill(429), 200], `job ${job}: ${list.map((c) => c.status).join(',')}`);
    assert.ok(list.length <= 6, `job ${job} sent ${list.length} calls`);
  }
  const throttled = calls.filter((c) => c.status === 429).length;
  assert.ok(throttled >= 1, 'the throttle was hit');
  assert.ok(calls.length <= 20, `${calls.length} calls (${throttled} × 429) for ${JOBS} jobs; bound 20`);
  assert.ok(throttled <= 12, `${throttled} × 429; bound 12`);
  console.log(`  ${header}: ${JOBS} jobs, ${calls.length} calls (${throttled} × 429), bound 20`);
  assert.equal({ a: a.breakerStates(), b: b.breakerStates() }, { a: { vision: 'closed' }, b: { vision: 'closed' } }, 'throttling is not ill health');
  await Promise.all([a.close(), b.close()]);
  return jobs;
}

test('429 for 5 s with retry-after-ms: 8 jobs on 2 replicas complete; no call before the stated wait; calls ≤ 20', async () => {
  const jobs = await throttledBatch('retry-after-ms');
  for (const [job, list] of jobs) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const waitMs = Number(prev.retryAfterMs);
      assert.ok(waitMs > 0, 'the 429 named a wait');
      const gap = list[i]!.arrivedAtMs - prev.answeredAtMs;
      assert.ok(gap >= waitMs, `job ${job} call ${i} came ${gap} ms after a 429 that asked for ${waitMs} ms`);
    }
  }
});

test('429 for 5 s with no retry header: 8 jobs complete; retries never sooner than the backoff floor; calls ≤ 20', async () => {
  const jobs = await throttledBatch('none');
  for (const [job, list] of jobs) {
    for (let i = 1; i < list.length; i++) {
      assert.is(list[i - 1]!.retryAfterMs, undefined);
      const gap = list[i]!.arrivedAtMs - list[i - 1]!.answeredAtMs;
      // default baseDelayMs 500 → the first backoff is ≥ 250 ms; the shared hint makes it ≥ 1 s in practice
      assert.ok(gap >= 250, `job ${job} call ${i} came ${gap} ms after a 429`);
    }
  }
});

test('retry storms: a replica that never saw the 429 waits on the shared hold-off marker; one without it does not', async () => {
  const prefix = `${stack.keyPrefix}:${++n}`;
  const a = coordinator(prefix, redisA);
  const b = coordinator(prefix, redisB);
  const loner = coordinator(`${prefix}:other`, redisB);
  const start = proxy.calls.length;
  emu.faults.throttle({ forMs: 1_500, retryAfterMs: 1_500, header: 'retry-after-ms' });
  const first = describe(a, `h${n}-a`);
  const holdKey = `${prefix}:ai:quota:{vision}:hold`;
  for (let i = 0; i < 200 && (await redisA.pttl(holdKey)) <= 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok((await redisA.pttl(holdKey)) > 0, 'replica A set the shared hold after its 429');
  await Promise.all([first, describe(b, `h${n}-b`), describe(loner, `h${n}-c`)]);
  const jobs = byJob(proxy.calls.slice(start));
  const a429 = jobs.get(`h${n}-a`)![0]!;
  assert.is(a429.status, 429);
  const bCalls = jobs.get(`h${n}-b`)!;
  assert.equal(bCalls.map((c) => c.status), [200], 'replica B never hit the throttled deployment');
  const gap = bCalls[0]!.arrivedAtMs - a429.answeredAtMs;
  assert.ok(gap >= 1_500, `replica B called ${gap} ms after A's 429 that asked for 1500 ms`);
  // Control: a replica not sharing the marker (other key prefix) calls at once and is throttled.
  assert.is(jobs.get(`h${n}-c`)![0]!.status, 429, 'without the shared marker the call goes out during the throttle');
  await Promise.all([a.close(), b.close(), loner.close()]);
});

test.run();
