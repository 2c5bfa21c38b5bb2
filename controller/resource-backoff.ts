/**
 * Per-resource exponential back-off of writes (controller-runtime's per-item rate limiter, with a sane floor
 * and cap for cloud APIs: reference/operator-anchors.md §1 and §10 item 3, controller-runtime#631). A resource
 * whose write failed is not written again until its delay has passed; each further failure doubles the delay up
 * to the cap; a success forgets the history. Other resources are not slowed down by it.
 *
 * Delay after the n-th consecutive failure: min(capMs, baseMs × 2^(n−1)) × (1 ± jitterRatio), ms. The service
 * takes base and cap from RECONCILE_BACKOFF_BASE_MS and RECONCILE_BACKOFF_CAP_MS (schemas/runtime-config.schema.json,
 * whose defaults are the ones below).
 */

/** Options of {@link ResourceBackoff}. */
export interface ResourceBackoffOptions {
  /** Delay after the first failure, ms. @defaultValue 30000 */
  baseMs: number;
  /** Largest delay, ms. @defaultValue 900000 (15 min) */
  capMs: number;
  /** Random spread as a fraction of the delay. @defaultValue 0.1 */
  jitterRatio: number;
  /** Random source in [0, 1). @defaultValue Math.random */
  random: () => number;
}

/** Defaults of {@link ResourceBackoffOptions}. */
export const DEFAULT_RESOURCE_BACKOFF: ResourceBackoffOptions = { baseMs: 30_000, capMs: 900_000, jitterRatio: 0.1, random: Math.random };

/** Base and cap from the runtime configuration (RECONCILE_BACKOFF_BASE_MS, RECONCILE_BACKOFF_CAP_MS), ms. */
export function backoffOptionsFromConfig(c: { RECONCILE_BACKOFF_BASE_MS: number; RECONCILE_BACKOFF_CAP_MS: number }): Pick<ResourceBackoffOptions, 'baseMs' | 'capMs'> {
  return { baseMs: c.RECONCILE_BACKOFF_BASE_MS, capMs: c.RECONCILE_BACKOFF_CAP_MS };
}

/** Back-off state of one resource. */
export interface BackoffEntry {
  /** Consecutive failures. */
  failures: number;
  /** Epoch ms before which the resource is not written. */
  retryAtMs: number;
  /** The last failure's message. */
  lastError: string;
}

/** Back-off book of one reconciler process (kept across passes by the loop). */
export class ResourceBackoff {
  private readonly o: ResourceBackoffOptions;
  private readonly entries = new Map<string, BackoffEntry>();

  constructor(options: Partial<ResourceBackoffOptions> = {}) {
    this.o = { ...DEFAULT_RESOURCE_BACKOFF, ...options };
  }

  /** Whether `resource` may be written at `nowMs` (epoch ms). */
  isReady(resource: string, nowMs: number): boolean {
    const e = this.entries.get(resource);
    return e === undefined || nowMs >= e.retryAtMs;
  }

  /** The resource's back-off state, if it has one. */
  get(resource: string): Readonly<BackoffEntry> | undefined {
    return this.entries.get(resource);
  }

  /** Resources currently backed off, for reports and metrics. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Records a failed write at `nowMs`.
   * @returns the delay before the next attempt, ms.
   */
  failure(resource: string, nowMs: number, error: string): number {
    const failures = (this.entries.get(resource)?.failures ?? 0) + 1;
    const raw = Math.min(this.o.capMs, this.o.baseMs * 2 ** (failures - 1));
    const delayMs = Math.max(0, Math.round(raw * (1 + this.o.jitterRatio * (2 * this.o.random() - 1))));
    this.entries.set(resource, { failures, retryAtMs: nowMs + delayMs, lastError: error });
    return delayMs;
  }

  /** Records a successful write: the history is forgotten. */
  success(resource: string): void {
    this.entries.delete(resource);
  }
}
