/**
 * Prometheus metrics of the AI coordinator (prom-client), registered in a registry the process passes in (the
 * worker exposes it on its metrics port); never prom-client's global registry. Coordinators sharing a registry
 * share one set of metrics ({@link aiMetricsFor}).
 *
 * - `ai_calls_total{model,task,outcome}`: coordinated calls (what jobs asked for). `outcome` is `ok`, `cached`, or
 *   the error code the call failed with (`model_unavailable`, `model_quota_exceeded`, `budget_exceeded`,
 *   `model_rejected_request`, `invalid_model_output`, …: a fixed set, services/platform/errors.ts codes);
 *   `model` is the registry name of the deployment that answered, or `none` when no deployment did;
 * - `ai_call_duration_seconds{model,task,outcome}`: time of a coordinated call, seconds (retries and waits included);
 * - `ai_tokens_total{model,task,direction}`: `usage` tokens, `direction` `in` (prompt) or `out` (completion,
 *   reasoning included);
 * - `ai_cost_usd_total{model,task}`: USD spent (tokens × the desired-state price);
 * - `ai_cache_lookups_total{task,result}`: response-cache `hit` / `miss` (hit rate = hit / (hit + miss));
 * - `ai_attempts_total{model,status}`: HTTP attempts sent to a deployment, by status (`200`, `429`, `500`, or
 *   `timeout` / `transport` when there was none);
 * - `ai_retries_total{model,reason}`: attempts that failed and were followed by another (`throttled`,
 *   `server_error`, `timeout`, `transport`);
 * - `ai_throttled_total{model}`: 429 answers;
 * - `ai_quota_wait_seconds{task}`: each wait for client-side quota, a hold or a probe (histogram: `_count` is the
 *   number of waits, `_sum` the seconds);
 * - `ai_breaker_state{model}`: circuit breaker, 0 closed, 1 half-open, 2 open (the worst over the coordinators
 *   sharing the registry), read at scrape time;
 * - `ai_post_call_writes_pending`: post-call Redis writes (quota settlement, usage, cache) sent but not yet answered
 *   (pending-writes.ts; the sum over the coordinators sharing the registry);
 * - `ai_post_call_write_failures_total`: post-call writes that failed (logged; usage or a cache entry may be missing,
 *   reservations stay until their windows end).
 *
 * Labels hold only registry names, tasks, statuses and error codes: bounded, never tenant ids or prompts.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AppError } from '../platform/errors.ts';
import type { BreakerState } from './circuit-breaker.ts';

/** Value of `ai_breaker_state` per state. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** Buckets of `ai_call_duration_seconds`, seconds (a cache hit is ~1 ms, a reasoning answer minutes). */
export const CALL_DURATION_BUCKETS_SEC = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;
/** Buckets of `ai_quota_wait_seconds`, seconds. */
export const QUOTA_WAIT_BUCKETS_SEC = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30] as const;

/** Label of calls no deployment answered. */
export const NO_MODEL = 'none';

/** Why a failed attempt is retried, from its status or transport code. */
export function retryReason(status: number | undefined, code: string): 'throttled' | 'server_error' | 'timeout' | 'transport' {
  if (status === 429) return 'throttled';
  if (status !== undefined) return status === 408 ? 'timeout' : 'server_error';
  return code === 'timeout' ? 'timeout' : 'transport';
}

/** The `outcome` label of a call that failed with `err`: its stable code, or `error` for anything else. */
export function failureOutcome(err: unknown): string {
  return err instanceof AppError ? err.code : 'error';
}

/** The `model` label of a call that failed with `err`: the deployment named in its details, or {@link NO_MODEL}. */
export function failureModel(err: unknown): string {
  if (err instanceof AppError && err.data && typeof err.data === 'object') {
    const d = (err.data as Record<string, unknown>).deployment;
    if (typeof d === 'string') return d;
  }
  return NO_MODEL;
}

/** The coordinator's metrics in one registry. */
export class AiMetrics {
  readonly calls: Counter<'model' | 'task' | 'outcome'>;
  readonly callDuration: Histogram<'model' | 'task' | 'outcome'>;
  readonly tokens: Counter<'model' | 'task' | 'direction'>;
  readonly costUsd: Counter<'model' | 'task'>;
  readonly cacheLookups: Counter<'task' | 'result'>;
  readonly attempts: Counter<'model' | 'status'>;
  readonly retries: Counter<'model' | 'reason'>;
  readonly throttled: Counter<'model'>;
  readonly quotaWait: Histogram<'task'>;
  readonly breakerState: Gauge<'model'>;
  readonly pendingWrites: Gauge;
  readonly writeFailures: Counter;
  private readonly breakerSources = new Set<() => Record<string, BreakerState>>();

  /** Registers every metric in `registry`. @throws Error from prom-client when the names are already registered there. */
  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({ name: 'ai_calls_total', help: 'Coordinated model calls, by answering deployment, task and outcome (ok, cached, or the error code).', labelNames: ['model', 'task', 'outcome'], registers });
    this.callDuration = new Histogram({
      name: 'ai_call_duration_seconds',
      help: 'Time of a coordinated model call, retries and waits included, seconds.',
      labelNames: ['model', 'task', 'outcome'],
      buckets: [...CALL_DURATION_BUCKETS_SEC],
      registers,
    });
    this.tokens = new Counter({ name: 'ai_tokens_total', help: 'Tokens reported in usage, by deployment, task and direction (in = prompt, out = completion incl. reasoning).', labelNames: ['model', 'task', 'direction'], registers });
    this.costUsd = new Counter({ name: 'ai_cost_usd_total', help: 'USD spent on model calls (tokens x desired-state price).', labelNames: ['model', 'task'], registers });
    this.cacheLookups = new Counter({ name: 'ai_cache_lookups_total', help: 'Response-cache lookups, by task and result (hit, miss).', labelNames: ['task', 'result'], registers });
    this.attempts = new Counter({ name: 'ai_attempts_total', help: 'HTTP attempts sent to a deployment, by status (or timeout / transport).', labelNames: ['model', 'status'], registers });
    this.retries = new Counter({ name: 'ai_retries_total', help: 'Failed attempts followed by another attempt, by deployment and reason.', labelNames: ['model', 'reason'], registers });
    this.throttled = new Counter({ name: 'ai_throttled_total', help: '429 answers from a deployment.', labelNames: ['model'], registers });
    this.quotaWait = new Histogram({ name: 'ai_quota_wait_seconds', help: 'Waits for client-side quota, a shared hold or a probe, seconds.', labelNames: ['task'], buckets: [...QUOTA_WAIT_BUCKETS_SEC], registers });
    const sources = this.breakerSources;
    this.breakerState = new Gauge({
      name: 'ai_breaker_state',
      help: 'Circuit breaker per deployment: 0 closed, 1 half-open, 2 open (worst over coordinators).',
      labelNames: ['model'],
      registers,
      collect() {
        const worst = new Map<string, number>();
        for (const states of sources) for (const [model, s] of Object.entries(states())) worst.set(model, Math.max(worst.get(model) ?? 0, BREAKER_STATE_VALUE[s]));
        for (const [model, v] of worst) this.set({ model }, v);
      },
    });
    this.pendingWrites = new Gauge({ name: 'ai_post_call_writes_pending', help: 'Post-call Redis writes (quota settlement, usage, cache) sent and not yet answered.', registers });
    this.writeFailures = new Counter({
      name: 'ai_post_call_write_failures_total',
      help: 'Post-call Redis writes (quota settlement, usage, cache) that failed; usage or cache entries may be missing, reservations stay until their windows end.',
      registers,
    });
  }

  /** Adds a coordinator's breaker states to `ai_breaker_state`. @returns a function removing it (on close). */
  addBreakerSource(states: () => Record<string, BreakerState>): () => void {
    this.breakerSources.add(states);
    return () => this.breakerSources.delete(states);
  }
}

const byRegistry = new WeakMap<Registry, AiMetrics>();

/** The {@link AiMetrics} of `registry`, created on first use and shared by every coordinator passing it. */
export function aiMetricsFor(registry: Registry): AiMetrics {
  let m = byRegistry.get(registry);
  if (!m) {
    m = new AiMetrics(registry);
    byRegistry.set(registry, m);
  }
  return m;
}
