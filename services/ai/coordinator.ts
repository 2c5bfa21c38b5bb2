/**
 * The AI coordinator ({@link AiCoordinator} in types.ts): every model call of the engine goes through it.
 * It routes a task to the cheapest healthy deployment with room (fallback chain, circuit breakers), limits RPM/TPM
 * across replicas through Redis, retries 429/5xx/timeouts within a budget, answers repeated requests from an
 * exact-match Redis cache, strips reasoning, validates JSON (one repair call), and accounts tokens and USD per
 * model, per tenant per day and per analysis, refusing calls past a tenant's daily budget.
 *
 * Redis round trips of a call (lua-steps.ts): one before the model call (cache lookup, budget reservation, the first
 * quota reservation: admission.ts) and one after it (quota settlement, usage record, cache entry with its erasure
 * index); a cache hit takes the first and one for its usage record. Retries and waits for quota add their own.
 * The write after the call is queued, sent on the next event-loop turn and not waited for (pending-writes.ts: when,
 * and why that cannot lose a reservation or overshoot a budget or quota); {@link AiCoordinator.settle} sends the queued
 * writes at once and waits for them.
 *
 * Design: DESIGN.md §6, §10; wire facts: reference/azure-ai-inference.md.
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { KeyCredential, TokenCredential } from '@azure/core-auth';
import { createLogger, type Logger } from '../platform/logger.ts';
import { TerminalError, TransientError, ValidationError } from '../platform/errors.ts';
import type { ModelCallRecord } from '../analyses/types.ts';
import type { AiCoordinator, CallContext, DescribeImageRequest, GenerateJsonRequest, JsonResult, TextResult } from './types.ts';
import { estimatePromptTokens, maxTokensFor, requestHashes, sha256Hex, type ChatPrompt } from './chat-request.ts';
import type { CircuitBreakerOptions, BreakerState } from './circuit-breaker.ts';
import { costUsd } from './cost.ts';
import { JsonSchemaCache, parseJsonAnswer, repairInstruction } from './json-output.ts';
import { aiMetricsFor, failureModel, failureOutcome, type AiMetrics } from './metrics.ts';
import { ModelClients } from './model-clients.ts';
import { KNOWN_API_VERSIONS, validateDeployments, type ModelDeployment, type ModelTask } from './model-deployment.ts';
import { ModelRouter, worstCaseCostUsd } from './model-router.ts';
import { QuotaLimiter, type ReserveResult } from './quota-limiter.ts';
import { stripReasoning } from './reasoning.ts';
import { checkDescribeImage, checkGenerateJson, DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits.ts';
import { ResponseCache, type CachedAnswer } from './response-cache.ts';
import { retryBudget, type RetryOptions } from './retry-policy.ts';
import { firstCandidate, routedCall, startGatedAttempt, type GatedAttempt, type RoutedCallDeps } from './routed-call.ts';
import { CallAdmission } from './admission.ts';
import { runSteps, type LuaStep } from './lua-steps.ts';
import { UsageLedger, utcDay } from './usage-ledger.ts';
import { PendingWrites } from './pending-writes.ts';

/** Default of {@link AiCoordinatorOptions.maxPendingWrites}. */
export const DEFAULT_MAX_PENDING_WRITES = 64;
/** How long {@link AiCoordinator.close} waits for post-call writes in flight, ms. */
export const CLOSE_SETTLE_MS = 10_000;

/** Options of {@link createAiCoordinator}. */
export interface AiCoordinatorOptions {
  /** The model registry (desired state `spec.azure.models`). */
  models: ModelDeployment[];
  /** From `createModelCredential` (credentials.ts): a key in dev, an Entra identity elsewhere. Never logged. */
  credential: KeyCredential | TokenCredential;
  /** Shared Redis (cache, quotas, usage). The coordinator does not close it. */
  redis: Redis;
  /** Prefix of every Redis key (REDIS_KEY_PREFIX). */
  keyPrefix: string;
  /** API version sent as `api-version` unless a deployment overrides it (AI_API_VERSION). @defaultValue '2025-04-01' */
  apiVersion?: string;
  /**
   * Allow `http:` endpoints (local stand-ins). Pass `true` only from a dev profile; an http endpoint without it is
   * refused at construction, and https endpoints keep TLS either way. @defaultValue false
   */
  allowInsecureConnection?: boolean;
  /** Timeout of one HTTP attempt, ms (AI_TIMEOUT_MS). @defaultValue 120000 */
  timeoutMs?: number;
  /** pino logger; never receives credentials, headers or request bodies. @defaultValue silent */
  logger?: Logger;
  /** Retry budget per call (attempts, total wait in ms, backoff steps in ms). */
  retry?: RetryOptions;
  /** Circuit breaker per deployment (consecutive failures, cool-down in ms). */
  breaker?: CircuitBreakerOptions;
  /** Response-cache entry lifetime, seconds; 0 turns the cache off. @defaultValue 86400 */
  cacheTtlSec?: number;
  /** Daily budget per tenant in USD: one figure for all, a map by tenant id, or a function. @defaultValue none */
  dailyBudgetUsd?: number | Readonly<Record<string, number>> | ((tenantId: string) => number | undefined);
  /** How long usage counters are kept, days. @defaultValue 40 */
  usageRetentionDays?: number;
  /** Request input limits (image bytes, prompt characters, output tokens). */
  limits?: Partial<RequestLimits>;
  /** Entra scopes for a TokenCredential. @defaultValue ['https://cognitiveservices.azure.com/.default'] */
  scopes?: string[];
  /**
   * Registry the `ai_*` metrics go to (metrics.ts); the process exposes it. Coordinators passing the same registry
   * share the metrics. @defaultValue a private registry (metrics kept, not exposed)
   */
  metricsRegistry?: Registry;
  /**
   * Post-call writes (quota settlement, usage, cache) in flight before a caller waits for its own: the bound on what a
   * Redis stall can pile up (pending-writes.ts). @defaultValue {@link DEFAULT_MAX_PENDING_WRITES}
   */
  maxPendingWrites?: number;
}

/** What the coordinator offers beyond the {@link AiCoordinator} contract, for health and usage endpoints. */
export interface AiCoordinatorInsights {
  /** Usage and cost counters (read with `readDay(tenant, 'yyyy-mm-dd')` / `readAnalysis(tenant, analysisId)`). */
  readonly usage: UsageLedger;
  /** Circuit-breaker state of every deployment. */
  breakerStates(): Record<string, BreakerState>;
  /** The `ai_*` metrics (in `metricsRegistry`). */
  readonly metrics: AiMetrics;
}

function budgetFn(b: AiCoordinatorOptions['dailyBudgetUsd']): ((tenantId: string) => number | undefined) | undefined {
  if (b === undefined) return undefined;
  if (typeof b === 'number') return () => b;
  if (typeof b === 'function') return b;
  return (tenantId) => b[tenantId];
}

/**
 * Builds a coordinator. Nothing is sent until the first call.
 * @throws ValidationError (code `invalid_model_registry`) naming each bad deployment field, e.g. an http endpoint
 *   without `allowInsecureConnection`, a duplicate name, a negative price; or naming `apiVersion` / `keyPrefix` when invalid.
 */
export function createAiCoordinator(o: AiCoordinatorOptions): AiCoordinator & AiCoordinatorInsights {
  const allowInsecure = o.allowInsecureConnection === true;
  const apiVersion = o.apiVersion ?? '2025-04-01';
  const optionProblems = [
    ...(KNOWN_API_VERSIONS.includes(apiVersion) ? [] : [{ where: 'apiVersion', message: `must be one of ${KNOWN_API_VERSIONS.join(', ')}` }]),
    ...(typeof o.keyPrefix === 'string' && /^[A-Za-z0-9{}_.:-]{1,128}$/.test(o.keyPrefix) ? [] : [{ where: 'keyPrefix', message: 'must match [A-Za-z0-9{}_.:-]{1,128}' }]),
  ];
  if (optionProblems.length > 0) throw new ValidationError('invalid AI coordinator options:', optionProblems);
  validateDeployments(o.models, allowInsecure);
  const models = o.models.map((m) => ({ ...m, use: [...m.use] }));
  const log = (o.logger ?? createLogger('ai', 'silent')).child({ component: 'ai-coordinator' });
  const closing = new AbortController();
  const limits: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...o.limits };
  const schemas = new JsonSchemaCache();
  const cache = new ResponseCache(o.redis, o.keyPrefix, Math.max(0, Math.floor(o.cacheTtlSec ?? 86_400)), log);
  const budget = budgetFn(o.dailyBudgetUsd);
  const ledger = new UsageLedger(o.redis, o.keyPrefix, { ...(budget ? { dailyBudgetUsd: budget } : {}), retentionDays: o.usageRetentionDays ?? 40 });
  const router = new ModelRouter(models, o.breaker);
  const metrics = aiMetricsFor(o.metricsRegistry ?? new Registry());
  const dropBreakerSource = metrics.addBreakerSource(() => router.states());
  const clients = new ModelClients({ credential: o.credential, apiVersion, allowInsecureConnection: allowInsecure, ...(o.scopes ? { scopes: o.scopes } : {}) });
  const limiter = new QuotaLimiter(o.redis, o.keyPrefix);
  const admission = new CallAdmission(o.redis, cache, ledger, limiter);
  const writes = new PendingWrites({
    limit: o.maxPendingWrites ?? DEFAULT_MAX_PENDING_WRITES,
    onCountChange: (d) => (d > 0 ? metrics.pendingWrites.inc() : metrics.pendingWrites.dec()),
  });
  const deps: RoutedCallDeps = {
    clients,
    router,
    limiter,
    budget: retryBudget(o.retry),
    timeoutMs: Math.max(1, o.timeoutMs ?? 120_000),
    signal: closing.signal,
    log,
    metrics,
  };

  // A closed coordinator means the process is shutting down: the work can be retried elsewhere.
  const ensureOpen = (): void => {
    if (closing.signal.aborted) throw new TransientError('coordinator_closed', 'the AI coordinator is closed');
  };

  /** What a call works out once, before anything is sent: the fallback chain, the token estimate, the cache keys. */
  interface Prepared {
    prompt: ChatPrompt;
    chain: ModelDeployment[];
    /** `estimatePromptTokens(prompt)`. */
    promptTokens: number;
    /** `requestHash(prompt, chain[i])` for each deployment of the chain; empty with the cache off. */
    hashes: string[];
  }

  /** @param cacheable false for a prompt never looked up nor stored (a repair call): no hashes. */
  function prepare(prompt: ChatPrompt, cacheable = true): Prepared {
    const promptTokens = estimatePromptTokens(prompt);
    const chain = router.chain(prompt, promptTokens);
    return { prompt, chain, promptTokens, hashes: cacheable && cache.enabled ? requestHashes(prompt, chain) : [] };
  }

  /** A miss that may be sent: the budget held (USD) and the first reservation, when one was asked for. */
  interface Admitted {
    reservedUsd: number;
    first?: { m: ModelDeployment; result: ReserveResult; attempt?: GatedAttempt };
  }

  /**
   * One round trip before the call (admission.ts): the cache lookup (when `lookup`), the tenant's budget and the
   * quota of the deployment the call goes to first. While it is on its way, the request to that deployment is built
   * and held at its gate (admission-gate.ts): it goes out as soon as the answer grants it, and is dropped unsent
   * otherwise (a hit, a refusal, no quota now, a Redis error).
   * @throws QuotaExceededError `budget_exceeded`; a Redis error.
   */
  async function admit(p: Prepared, ctx: CallContext, lookup: boolean, nowMs: number): Promise<{ hit: { hash: string; answer: CachedAnswer } } | { admitted: Admitted }> {
    const unsent = lookup ? cache.pendingHit(p.hashes) : undefined; // answered moments ago, its write not yet applied
    if (unsent) return { hit: unsent };
    const m = firstCandidate(p.chain, router);
    const quota = m ? limiter.reservationRequest(m, p.promptTokens + maxTokensFor(p.prompt, m)) : undefined;
    const worst = Math.max(...p.chain.map((c) => worstCaseCostUsd(p.prompt, c, p.promptTokens)), 0);
    const budget = ledger.budgetRequest(ctx.tenantId, utcDay(nowMs), worst);
    const answer = admission.admit({ cacheHashes: lookup ? p.hashes : [], nowMs, ...(budget ? { budget } : {}), ...(quota ? { quota } : {}) });
    let open: (granted: boolean) => void = () => undefined;
    const attempt = m ? startGatedAttempt(p.prompt, deps, m, p.promptTokens, new Promise<boolean>((resolve) => (open = resolve))) : undefined;
    let a;
    try {
      a = await answer;
    } catch (err) {
      open(false);
      if (m) router.breaker(m.name).release();
      throw err;
    }
    open(a.kind === 'admitted' && a.quota?.granted === true);
    if (a.kind === 'hit' || (m && !a.quota)) {
      if (m) router.breaker(m.name).release(); // nothing goes out on this permission
      if (a.kind === 'hit') return { hit: { hash: a.hash, answer: a.answer } };
    }
    return { admitted: { reservedUsd: a.reservedUsd, ...(m && a.quota ? { first: { m, result: a.quota, ...(a.quota.granted && attempt ? { attempt } : {}) } } : {}) } };
  }

  /** {@link admit} without the cache lookup (a repair call, or after a hit the caller could not use). */
  async function admitUncached(p: Prepared, ctx: CallContext, nowMs: number): Promise<Admitted> {
    const a = await admit(p, ctx, false, nowMs);
    if ('hit' in a) throw new Error('AI admission answered from the cache although no entry was looked up');
    return a.admitted;
  }

  /**
   * Queues the writes after a call (`steps`, lua-steps.ts): one round trip on the coordinator's connection, sent on the
   * next event-loop turn (pending-writes.ts) and tracked in {@link writes} instead of waited for. A Redis failure is
   * logged (ids, model, USD and the error message only) and counted in `ai_post_call_write_failures_total`, never
   * allowed to lose an answer already paid for.
   * @param answered called once Redis has answered the write, successfully or not (a cache entry's `release`).
   * @returns resolves at once, or when this write has finished if the in-flight bound is reached. Never rejects.
   */
  function commit(steps: ReadonlyArray<LuaStep | undefined>, ctx: CallContext, record: ModelCallRecord, answered?: () => void): Promise<void> {
    const list = steps.filter((s): s is LuaStep => s !== undefined);
    if (list.length === 0) return Promise.resolve();
    return writes.start(
      () => (answered ? runSteps(o.redis, list).finally(answered) : runSteps(o.redis, list)),
      (err) => {
        metrics.writeFailures.inc();
        log.error(
          { tenantId: ctx.tenantId, analysisId: ctx.analysisId, modelName: record.modelName, costUsd: record.costUsd, err: err instanceof Error ? err.message : String(err) },
          'ai usage, quota settlement or cache write could not be recorded',
        );
      },
    );
  }

  /**
   * A model call made: its answer, record, and `finish` for its writes (quota settlement, usage, cache), which queues
   * them ({@link commit}) and resolves without waiting for them (unless the in-flight bound is reached); never rejects.
   */
  interface ModelCall {
    text: string;
    record: ModelCallRecord;
    deployment: ModelDeployment;
    /** Queues the quota settlement, the usage record and, with `entry`, the cache entry (under `hashOf`'s request hash) in one round trip ({@link commit}). */
    finish(entry?: { text: string; hashOf: Prepared }): Promise<void>;
  }

  /**
   * One model call after admission. A failure gives the budget reservation back.
   * @param started ms since the epoch when the coordinated call began.
   */
  async function callModel(p: Prepared, ctx: CallContext, admitted: Admitted, started: number): Promise<ModelCall> {
    const day = utcDay(started);
    let routed;
    try {
      routed = await routedCall(p.prompt, deps, { chain: p.chain, promptTokens: p.promptTokens, ...(admitted.first ? { first: admitted.first } : {}) });
    } catch (err) {
      await ledger.release(ctx.tenantId, day, admitted.reservedUsd).catch(() => undefined);
      throw err;
    }
    const { deployment: m, answer, reservation } = routed;
    const record: ModelCallRecord = {
      task: p.prompt.task,
      modelName: m.name,
      model: m.model,
      promptTokens: answer.promptTokens,
      completionTokens: answer.completionTokens,
      costUsd: costUsd(m.pricePer1MTokens, answer.promptTokens, answer.completionTokens),
      durationMs: Date.now() - started,
      cached: false,
    };
    if (!answer.usageReported) log.warn({ deployment: m.name }, 'response had no usage; token counts are estimates');
    metrics.tokens.inc({ model: m.name, task: p.prompt.task, direction: 'in' }, record.promptTokens);
    metrics.tokens.inc({ model: m.name, task: p.prompt.task, direction: 'out' }, record.completionTokens);
    metrics.costUsd.inc({ model: m.name, task: p.prompt.task }, record.costUsd);
    return {
      text: stripReasoning(answer.content),
      record,
      deployment: m,
      finish: (entry) => {
        const hash = entry ? entry.hashOf.hashes[entry.hashOf.chain.indexOf(m)] : undefined;
        const put = entry && hash !== undefined ? cache.putPending(hash, { text: entry.text, modelName: m.name, model: m.model }, ctx.analysisId) : undefined;
        return commit(
          [
            limiter.settlementStep(reservation, answer.promptTokens + answer.completionTokens, answer.headers, true),
            ledger.recordStep(ctx.tenantId, ctx.analysisId, day, record, admitted.reservedUsd),
            put?.step,
          ],
          ctx,
          record,
          put?.release,
        );
      },
    };
  }

  /**
   * Serves a cache hit: a zero-cost record, counted as a cached call, the entry listed for the analysis's erasure
   * (queued, not waited for: {@link commit}).
   */
  async function cachedRecord(prompt: ChatPrompt, hit: { hash: string; answer: CachedAnswer }, ctx: CallContext, started: number): Promise<ModelCallRecord> {
    const record: ModelCallRecord = {
      task: prompt.task,
      modelName: hit.answer.modelName,
      model: hit.answer.model,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
      durationMs: Date.now() - started,
      cached: true,
    };
    await commit([ledger.recordStep(ctx.tenantId, ctx.analysisId, utcDay(started), record, 0), cache.indexStep(hit.hash, ctx.analysisId)], ctx, record);
    return record;
  }

  /** Counts one coordinated call and its duration (`started` from `performance.now()`, ms). */
  function observeCall(task: ModelTask, model: string, outcome: string, started: number): void {
    const labels = { model, task, outcome };
    metrics.calls.inc(labels);
    metrics.callDuration.observe(labels, (performance.now() - started) / 1000);
  }

  /** describeImage without the call metrics: admission (cache lookup, budget, quota), model call, one write round trip (not awaited). */
  async function describeImage(req: DescribeImageRequest): Promise<TextResult> {
    ensureOpen();
    checkDescribeImage(req, limits);
    const started = Date.now();
    const p = prepare({
      task: 'vision',
      messages: [{ role: 'user', content: [{ type: 'text', text: req.prompt }, { type: 'image', mimeType: req.mimeType, data: req.image, sha256: sha256Hex(req.image) }] }],
      ...(req.maxTokens !== undefined ? { maxTokens: req.maxTokens } : {}),
    });
    const a = await admit(p, req.context, true, started);
    const hit = 'hit' in a && a.hit.answer.text.length > 0 ? a.hit : undefined;
    if (cache.enabled) metrics.cacheLookups.inc({ task: 'vision', result: hit ? 'hit' : 'miss' });
    if (hit) {
      log.debug({ task: 'vision', modelName: hit.answer.modelName }, 'ai call answered from cache');
      return { text: hit.answer.text, record: await cachedRecord(p.prompt, hit, req.context, started) };
    }
    const call = await callModel(p, req.context, 'admitted' in a ? a.admitted : await admitUncached(p, req.context, started), started);
    if (call.text.length === 0) {
      await call.finish();
      throw new TerminalError('invalid_model_output', `model deployment ${call.deployment.name} returned an empty image description`, { deployment: call.deployment.name });
    }
    await call.finish({ text: call.text, hashOf: p });
    return { text: call.text, record: call.record };
  }

  /** generateJson without the call metrics: admission (cache lookup, budget, quota), model call, one repair call, writes. */
  async function generateJson(req: GenerateJsonRequest): Promise<JsonResult> {
    ensureOpen();
    checkGenerateJson(req, limits);
    const validate = schemas.validator(req.schema);
    const started = Date.now();
    const p = prepare({
      task: 'text',
      messages: [{ role: 'system', content: req.system }, { role: 'user', content: req.user }],
      jsonSchema: { name: req.schemaName, schema: req.schema },
      ...(req.maxTokens !== undefined ? { maxTokens: req.maxTokens } : {}),
    });
    const a = await admit(p, req.context, true, started);
    const parsedHit = 'hit' in a ? parseJsonAnswer(a.hit.answer.text, validate) : undefined;
    if (cache.enabled) metrics.cacheLookups.inc({ task: 'text', result: parsedHit?.ok ? 'hit' : 'miss' });
    if ('hit' in a && parsedHit?.ok) return { json: parsedHit.json, records: [await cachedRecord(p.prompt, a.hit, req.context, started)] };
    const first = await callModel(p, req.context, 'admitted' in a ? a.admitted : await admitUncached(p, req.context, started), started);
    const firstParsed = parseJsonAnswer(first.text, validate);
    if (firstParsed.ok) {
      await first.finish({ text: first.text, hashOf: p });
      return { json: firstParsed.json, records: [first.record] };
    }
    await first.finish();
    log.warn({ deployment: first.deployment.name, problems: firstParsed.errors.length }, 'model JSON did not validate; asking once more');
    const repair = prepare({
      ...p.prompt,
      messages: [...p.prompt.messages, { role: 'assistant', content: first.text }, { role: 'user', content: repairInstruction(firstParsed.errors) }],
    }, false);
    const repairStarted = Date.now();
    const second = await callModel(repair, req.context, await admitUncached(repair, req.context, repairStarted), repairStarted);
    const secondParsed = parseJsonAnswer(second.text, validate);
    if (!secondParsed.ok) {
      await second.finish();
      throw new TerminalError(
        'invalid_model_output',
        `model deployment ${second.deployment.name} returned JSON for "${req.schemaName}" that does not validate after one repair: ${secondParsed.errors.slice(0, 5).join('; ')}`,
        { deployment: second.deployment.name, errors: secondParsed.errors, records: [first.record, second.record] },
      );
    }
    // Cached as the answer to the original request (a repeat of it is answered without the two calls).
    await second.finish({ text: second.text, hashOf: p });
    return { json: secondParsed.json, records: [first.record, second.record] };
  }

  return {
    usage: ledger,
    breakerStates: () => router.states(),
    metrics,

    async describeImage(req: DescribeImageRequest): Promise<TextResult> {
      const started = performance.now();
      try {
        const r = await describeImage(req);
        observeCall('vision', r.record.modelName, r.record.cached ? 'cached' : 'ok', started);
        return r;
      } catch (err) {
        observeCall('vision', failureModel(err), failureOutcome(err), started);
        throw err;
      }
    },

    async generateJson(req: GenerateJsonRequest): Promise<JsonResult> {
      const started = performance.now();
      try {
        const r = await generateJson(req);
        const last = r.records[r.records.length - 1];
        observeCall('text', last?.modelName ?? 'none', r.records[0]?.cached ? 'cached' : 'ok', started);
        return r;
      } catch (err) {
        observeCall('text', failureModel(err), failureOutcome(err), started);
        throw err;
      }
    },

    settle: () => writes.settle(),

    async close(): Promise<void> {
      if (!closing.signal.aborted) closing.abort(new TransientError('coordinator_closed', 'the AI coordinator was closed during the call'));
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        writes.settle().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_SETTLE_MS))),
      ]);
      clearTimeout(timer);
      if (!settled) log.error({ pending: writes.size, waitedMs: CLOSE_SETTLE_MS }, 'closing with ai post-call writes still unanswered by Redis; their usage or cache entries may be missing');
      dropBreakerSource();
      clients.clear();
    },
  } satisfies AiCoordinator & AiCoordinatorInsights;
}
