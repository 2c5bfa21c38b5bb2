/**
 * One coordinated model call: walk the fallback chain, reserve quota, send, and retry within the budget.
 *
 * Each attempt goes to the first deployment of the chain whose circuit breaker admits it and whose shared quota
 * has room now; when none has room, the call waits for the soonest one. After a failed attempt:
 * - terminal (4xx other than 429, content filter, credential failure) → {@link TerminalError}, no retry, with code
 *   `model_auth_failed` (401/403 or no token), `content_filtered` or `model_rejected_request`;
 * - retryable with a server-named wait (`retry-after-ms`, `x-ms-retry-after-ms`, `retry-after`) → that wait
 *   becomes a hold on the deployment shared by every replica, so no attempt reaches it earlier (the next attempt
 *   may go to a fallback deployment that has room);
 * - a 429 without one → the jittered exponential backoff becomes that shared hold instead, so other replicas back
 *   off too; when a hold ends, one probe call goes first (quota-limiter.ts), so a throttled deployment is not hit
 *   by every waiting job at once;
 * - other retryable failures without a named wait → a jittered exponential backoff before the next attempt on the
 *   same deployment (none when the failure opened the breaker and the chain moves on).
 * A 429 is throttling, not ill health: it does not count towards the circuit breaker (5xx, timeouts and transport
 * errors do). The budget caps attempts (`maxAttempts`) and the total of every wait of the call (`maxTotalWaitMs`).
 */
import type { Logger } from '../platform/logger.ts';
import { QuotaExceededError, TerminalError, TransientError } from '../platform/errors.ts';
import { abortableSleep } from './abortable-sleep.ts';
import { chatBody, maxTokensFor, type ChatPrompt } from './chat-request.ts';
import { retryReason, type AiMetrics } from './metrics.ts';
import type { ModelClients } from './model-clients.ts';
import type { ModelDeployment } from './model-deployment.ts';
import type { ModelRouter } from './model-router.ts';
import { sendAttempt, sendGatedAttempt, type AttemptAnswer, type AttemptFailure, type AttemptOptions, type AttemptOutcome } from './model-attempt.ts';
import type { QuotaLimiter, QuotaReservation, ReserveResult } from './quota-limiter.ts';
import { backoffMs, serverRetryAfterMs, type RetryBudget } from './retry-policy.ts';

/** What a routed call needs from its coordinator. */
export interface RoutedCallDeps {
  clients: ModelClients;
  router: ModelRouter;
  limiter: QuotaLimiter;
  budget: RetryBudget;
  /** Per-attempt timeout, ms. */
  timeoutMs: number;
  /** Aborted when the coordinator closes. */
  signal: AbortSignal;
  log: Logger;
  /** Attempts, retries, 429s and quota waits are counted here. */
  metrics: AiMetrics;
}

/** What the caller worked out about the call before routing it. */
export interface RoutedCallInput {
  /** The fallback chain (`ModelRouter.chain`); empty when no deployment serves the task. */
  chain: readonly ModelDeployment[];
  /** The prompt's token estimate (`estimatePromptTokens`). */
  promptTokens: number;
  /**
   * The first reservation, already asked for (admission.ts) on the deployment {@link firstCandidate} picked, whose
   * breaker permission it holds. Granted: the first attempt uses it; not: it counts as that deployment's answer in
   * the first look for room, and its permission is given back.
   */
  first?: { m: ModelDeployment; result: ReserveResult; attempt?: GatedAttempt };
}

/** A first attempt built during the admission round trip ({@link startGatedAttempt}), sent only if it was granted. */
export type GatedAttempt = Promise<AttemptOutcome | { kind: 'not_sent' }>;

/**
 * Starts the attempt of `prompt` on `m` that {@link routedCall} would send first, gated on `gate` (admission-gate.ts):
 * the SDK builds the request now and sends it only when `gate` resolves `true`. Hand it to routedCall in `first`.
 * @returns the attempt; it never rejects (a coordinator closed meanwhile reads as not sent here and is seen again by
 *   routedCall's own check).
 */
export function startGatedAttempt(prompt: ChatPrompt, d: RoutedCallDeps, m: ModelDeployment, promptTokens: number, gate: Promise<boolean>): GatedAttempt {
  return sendGatedAttempt(d.clients.get(m), chatBody(prompt, m), attemptOptions(prompt, d, m, promptTokens), gate).catch(() => ({ kind: 'not_sent' as const }));
}

/** The options of an attempt of `prompt` on `m` (timeout, the coordinator's close, the usage estimate). */
function attemptOptions(prompt: ChatPrompt, d: RoutedCallDeps, m: ModelDeployment, promptTokens: number): AttemptOptions {
  return { timeoutMs: d.timeoutMs, signal: d.signal, estimate: { promptTokens, completionTokens: maxTokensFor(prompt, m) } };
}

/** A successful routed call. */
export interface RoutedAnswer {
  deployment: ModelDeployment;
  answer: AttemptAnswer;
  /** Attempts sent, the successful one included. */
  attempts: number;
  /**
   * The successful attempt's reservation, not yet settled: the caller runs `QuotaLimiter.settlementStep(
   * reservation, usage, answer.headers, true)` with its own writes (usage, cache): one round trip for all.
   */
  reservation: QuotaReservation;
}

/**
 * The deployment a call would try first: the first of `chain` whose breaker admits a call, with its permission taken
 * (`tryAcquire`); undefined when every breaker refuses. Hand it to {@link routedCall} as `first`.
 */
export function firstCandidate(chain: readonly ModelDeployment[], router: ModelRouter): ModelDeployment | undefined {
  for (const m of chain) {
    const breaker = router.breaker(m.name);
    if (breaker.admits()) return breaker.tryAcquire() ? m : undefined;
  }
  return undefined;
}

/** The TerminalError code of a terminal attempt: auth, content filter, or any other rejection. */
function terminalCode(f: AttemptFailure): string {
  if (f.code === 'content_filtered') return 'content_filtered';
  if (f.code === 'credential_failed' || f.status === 401 || f.status === 403) return 'model_auth_failed';
  return 'model_rejected_request';
}

function failureText(m: ModelDeployment, f: AttemptFailure): string {
  return `${m.name}: ${f.status !== undefined ? `HTTP ${f.status} ` : ''}${f.code}: ${f.message}`;
}

/**
 * Sends `prompt` to the chain (cheapest healthy deployment first).
 * @throws TerminalError when the model rejects the request, no deployment serves the task, or the request needs
 *   more tokens than any deployment's TPM.
 * @throws QuotaExceededError when quota has no room within the wait budget and no attempt failed before.
 * @throws TransientError when attempts or wait budget run out on retryable failures, or every breaker is open.
 */
export async function routedCall(prompt: ChatPrompt, d: RoutedCallDeps, input: RoutedCallInput): Promise<RoutedAnswer> {
  const { chain, promptTokens: promptEstimate } = input;
  let firstTry = input.first; // consumed by the first look for room
  if (chain.length === 0) {
    if (firstTry) d.router.breaker(firstTry.m.name).release();
    throw new TerminalError('no_model_for_task', `no model deployment in the registry serves the "${prompt.task}" task`);
  }
  let attempts = 0;
  let waitedMs = 0;
  let last: { m: ModelDeployment; f: AttemptFailure } | undefined;

  const outOfBudget = (why: string, retryAfterMs: number): never => {
    if (last) throw new TransientError('model_unavailable', `${prompt.task} call gave up after ${attempts} attempt(s) (${why}); last failure ${failureText(last.m, last.f)}`);
    throw new QuotaExceededError(`${prompt.task} call refused by client-side model quota (${why})`, retryAfterMs, 'model_quota_exceeded');
  };

  for (;;) {
    // 1. Pick the first admitted deployment with room, or wait for the soonest.
    let picked: { m: ModelDeployment; reservation: QuotaReservation; sent?: GatedAttempt } | undefined;
    if (firstTry?.result.granted) picked = { m: firstTry.m, reservation: firstTry.result.reservation, ...(firstTry.attempt ? { sent: firstTry.attempt } : {}) };
    while (!picked) {
      const tried = firstTry; // asked already and not granted
      firstTry = undefined;
      if (tried) d.router.breaker(tried.m.name).release();
      const admitted = chain.filter((m) => d.router.breaker(m.name).admits());
      if (admitted.length === 0) {
        const names = chain.map((m) => m.name).join(', ');
        throw new TransientError('models_unavailable', `every deployment for the "${prompt.task}" task has an open circuit breaker (${names})${last ? `; last failure ${failureText(last.m, last.f)}` : ''}`);
      }
      let soonest = Number.POSITIVE_INFINITY;
      let neverFits = 0;
      if (tried && !tried.result.granted && admitted.includes(tried.m)) {
        if ('neverFits' in tried.result) neverFits += 1;
        else soonest = tried.result.waitMs;
      }
      for (const m of admitted) {
        if (m === tried?.m) continue;
        const breaker = d.router.breaker(m.name);
        if (!breaker.tryAcquire()) continue;
        const r = await d.limiter.tryReserve(m, promptEstimate + maxTokensFor(prompt, m));
        if (r.granted) {
          picked = { m, reservation: r.reservation };
          break;
        }
        breaker.release();
        if ('neverFits' in r) neverFits += 1;
        else soonest = Math.min(soonest, r.waitMs);
      }
      if (picked) break;
      if (neverFits === admitted.length) {
        throw new TerminalError('request_exceeds_quota', `the request needs ~${promptEstimate} prompt tokens plus max_tokens, more than the tokens-per-minute quota of every ${prompt.task} deployment; lower maxTokens (or the deployment's maxOutputTokens) or raise quota.tokensPerMinute`);
      }
      if (!Number.isFinite(soonest)) soonest = 50; // a half-open probe is in flight elsewhere: look again shortly
      if (waitedMs + soonest > d.budget.maxTotalWaitMs) outOfBudget(`waiting ${soonest} ms more would pass the ${d.budget.maxTotalWaitMs} ms wait budget`, soonest);
      d.log.debug({ task: prompt.task, waitMs: soonest }, 'ai call waiting for deployment quota');
      d.metrics.quotaWait.observe({ task: prompt.task }, soonest / 1000);
      await abortableSleep(soonest, d.signal);
      waitedMs += soonest;
    }

    // 2. Send.
    firstTry = undefined;
    const { m, reservation } = picked;
    const breaker = d.router.breaker(m.name);
    attempts += 1;
    let outcome: AttemptOutcome;
    try {
      const early = picked.sent ? await picked.sent : undefined;
      outcome = early && early.kind !== 'not_sent' ? early : await sendAttempt(d.clients.get(m), chatBody(prompt, m), attemptOptions(prompt, d, m, promptEstimate));
    } catch (err) {
      breaker.release();
      await d.limiter.settleAll(reservation, 0, {}, true).catch(() => undefined);
      throw err;
    }
    const throttled = outcome.kind !== 'ok' && outcome.status === 429;
    const status = outcome.kind === 'ok' ? '200' : outcome.status !== undefined ? String(outcome.status) : outcome.code === 'timeout' ? 'timeout' : 'transport';
    d.metrics.attempts.inc({ model: m.name, status });
    if (throttled) d.metrics.throttled.inc({ model: m.name });
    if (outcome.kind === 'ok') {
      breaker.onSuccess();
      d.log.debug({ deployment: m.name, attempt: attempts, durationMs: outcome.durationMs }, 'ai call answered');
      return { deployment: m, answer: outcome, attempts, reservation };
    }
    // Settled before deciding on a retry: the server's remaining counts must be in Redis first. Best effort.
    // A throttled probe keeps the gate closed: the hold below re-arms it.
    await d.limiter.settleAll(reservation, 0, outcome.headers, !throttled).catch((err: unknown) =>
      d.log.warn({ deployment: m.name, err: err instanceof Error ? err.message : String(err) }, 'ai quota settlement failed'),
    );
    const f = outcome;
    last = { m, f };
    if (f.kind === 'terminal') {
      if (f.status !== undefined) breaker.onSuccess();
      else breaker.release();
      d.log.warn({ deployment: m.name, status: f.status, code: f.code }, 'ai call rejected by the model');
      throw new TerminalError(terminalCode(f), `model deployment ${failureText(m, f)}`, {
        deployment: m.name,
        status: f.status,
        code: f.code,
      });
    }

    // 3. Retryable: decide how long before the next attempt.
    let opened = false;
    if (throttled) breaker.release();
    else opened = breaker.onFailure();
    const serverWaitMs = serverRetryAfterMs(f.headers);
    // A 429 naming no wait still holds every replica off, for this call's jittered backoff.
    const holdMs = serverWaitMs !== undefined ? serverWaitMs : throttled ? backoffMs(attempts, d.budget) : undefined;
    if (holdMs !== undefined && holdMs > 0) {
      await d.limiter.hold(m.name, holdMs).catch((err: unknown) => d.log.warn({ deployment: m.name, err: err instanceof Error ? err.message : String(err) }, 'ai quota hold failed'));
    }
    d.log.warn(
      { deployment: m.name, status: f.status, code: f.code, attempt: attempts, retryAfterMs: serverWaitMs, holdMs, breaker: opened ? 'opened' : breaker.state() },
      'ai call attempt failed; will retry',
    );
    if (attempts >= d.budget.maxAttempts) outOfBudget(`${d.budget.maxAttempts} attempts used`, holdMs ?? 0);
    if (holdMs !== undefined) {
      if (waitedMs + holdMs > d.budget.maxTotalWaitMs && !chain.some((c) => c !== m && d.router.breaker(c.name).admits())) {
        const who = serverWaitMs !== undefined ? 'the server asked to wait' : 'backing off from a 429 would take';
        outOfBudget(`${who} ${holdMs} ms, past the ${d.budget.maxTotalWaitMs} ms wait budget`, holdMs);
      }
      d.metrics.retries.inc({ model: m.name, reason: retryReason(f.status, f.code) });
      continue; // the hold makes the reservation wait (or spill to a fallback with room)
    }
    const next = chain.find((c) => d.router.breaker(c.name).admits());
    const delay = next === m ? backoffMs(attempts, d.budget) : 0;
    if (waitedMs + delay > d.budget.maxTotalWaitMs) outOfBudget(`a ${delay} ms backoff would pass the ${d.budget.maxTotalWaitMs} ms wait budget`, delay);
    d.metrics.retries.inc({ model: m.name, reason: retryReason(f.status, f.code) });
    if (delay > 0) {
      await abortableSleep(delay, d.signal);
      waitedMs += delay;
    }
  }
}
