/**
 * A circuit breaker per model deployment, in process memory (each replica judges health from its own calls,
 * like Azure APIM backend circuit breakers and LiteLLM cooldowns: reference/ai-gateway-anchors.md §2, §4).
 *
 * closed → (N consecutive failed attempts) → open → (cool-down elapsed) → half-open: one probe is let through;
 * its success closes the breaker, its failure opens it again for another cool-down.
 */

/** Breaker states. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Breaker settings. */
export interface CircuitBreakerOptions {
  /** Consecutive failed attempts that open the breaker. @defaultValue 3 */
  failureThreshold?: number;
  /** How long an open breaker refuses calls before a half-open probe, ms. @defaultValue 30000 */
  coolDownMs?: number;
}

/** One deployment's breaker. `now` is injectable for unit tests (ms since the epoch). */
export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private current: BreakerState = 'closed';
  private probeInFlight = false;
  readonly failureThreshold: number;
  readonly coolDownMs: number;

  constructor(o: CircuitBreakerOptions = {}, private readonly now: () => number = Date.now) {
    this.failureThreshold = Math.max(1, o.failureThreshold ?? 3);
    this.coolDownMs = Math.max(0, o.coolDownMs ?? 30_000);
  }

  /** The state now (an open breaker whose cool-down is over reports `half-open`). */
  state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAtMs >= this.coolDownMs) return 'half-open';
    return this.current;
  }

  /** Whether a call may go out now, without taking the half-open probe slot. */
  admits(): boolean {
    const s = this.state();
    return s === 'closed' || (s === 'half-open' && !this.probeInFlight);
  }

  /**
   * Takes permission for one attempt: always in `closed`, never in `open`, once in `half-open` (the probe).
   * A taken probe must end with {@link onSuccess}, {@link onFailure} or {@link release}.
   */
  tryAcquire(): boolean {
    const s = this.state();
    if (s === 'closed') return true;
    if (s === 'open' || this.probeInFlight) return false;
    this.current = 'half-open';
    this.probeInFlight = true;
    return true;
  }

  /** Gives back a probe slot that was taken but not used (the attempt never went out). */
  release(): void {
    this.probeInFlight = false;
  }

  /** The attempt succeeded (or failed for a reason unrelated to the deployment's health, like a 400). */
  onSuccess(): void {
    this.failures = 0;
    this.probeInFlight = false;
    this.current = 'closed';
  }

  /**
   * The attempt failed (429, 5xx, timeout, transport error).
   * @returns true when this failure opened the breaker.
   */
  onFailure(): boolean {
    this.failures += 1;
    const wasProbe = this.current === 'half-open';
    this.probeInFlight = false;
    if (wasProbe || (this.current === 'closed' && this.failures >= this.failureThreshold)) {
      this.current = 'open';
      this.openedAtMs = this.now();
      return true;
    }
    return false;
  }
}
