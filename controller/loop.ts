/**
 * The reconcile loop of the reconciler service: owns what a single pass does not (controller-runtime's
 * `internal/controller`): leader lease, interval with jitter, back-off after failed passes, report history,
 * and a graceful stop that lets the pass in flight finish. Emits typed events; metrics and logs subscribe.
 *
 * Each pass re-reads the desired-state file, so an edit is picked up by the next pass without a restart
 * (level-triggered); an invalid file makes the pass fail with the validation problems and nothing is written.
 */
import { EventEmitter } from 'node:events';
import type { DesiredState } from '../services/platform/desired-state.ts';
import { ValidationError, errorMessage } from '../services/platform/errors.ts';
import type { DriftReport } from './types.ts';
import { reconcile, type ReconcileDeps } from './reconcile.ts';
import type { LeaderLock } from './leader-lock.ts';
import type { ReportHistory } from './report/history.ts';

/** Events of {@link ReconcileLoop}, with their arguments. */
export interface LoopEvents {
  /** A pass is about to run (this replica is the leader). */
  passStarted: [];
  /** A pass finished and its report was saved; `nextInMs` is the delay before the next one. */
  passFinished: [{ report: DriftReport; nextInMs: number }];
  /** A pass could not run: invalid desired state, or Redis / an unexpected error. */
  passFailed: [{ error: string; nextInMs: number }];
  /** This replica is not the leader: it skipped the pass. */
  passSkipped: [{ nextInMs: number }];
  /** Leadership changed. */
  leadership: [{ leader: boolean; reason: string }];
}

/** Options of {@link ReconcileLoop}. */
export interface LoopOptions {
  /** Interval when the document sets none, ms. @defaultValue 60000 (RECONCILE_INTERVAL_MS) */
  defaultIntervalMs: number;
  /** Jitter, as a fraction of the delay added or removed at random (Argo CD / controller-runtime use ~10 %). @defaultValue 0.1 */
  jitterRatio: number;
  /** Longest delay after repeated failures, ms; each failure doubles the interval up to it. @defaultValue 600000 */
  maxBackoffMs: number;
  /** Force dry run. @defaultValue false (RECONCILE_DRY_RUN) */
  dryRun: boolean;
}

/**
 * How often a standby replica (not the leader) retries the lease, at most, ms: about one lease duration
 * (client-go's 15 s), so a dead leader is replaced within roughly two leases.
 */
export const STANDBY_RETRY_MS = 15_000;

/** Defaults of {@link LoopOptions}. */
export const DEFAULT_LOOP_OPTIONS: LoopOptions = { defaultIntervalMs: 60_000, jitterRatio: 0.1, maxBackoffMs: 600_000, dryRun: false };

/** Collaborators of {@link ReconcileLoop}. */
export interface LoopDeps {
  /** Reads and validates the desired state (called every pass). */
  loadDesired: () => Promise<DesiredState>;
  /** Desired-state file name, for reports. */
  source: string;
  reconcile: Omit<ReconcileDeps, 'defaultIntervalMs' | 'mayWrite'>;
  lock: LeaderLock;
  history: ReportHistory;
  /** Random source in [0, 1). @defaultValue Math.random */
  random?: () => number;
}

/** The service's loop. */
export class ReconcileLoop extends EventEmitter<LoopEvents> {
  private readonly o: LoopOptions;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopping = false;
  private failures = 0;
  private lastIntervalMs: number;

  constructor(
    private readonly deps: LoopDeps,
    options: Partial<LoopOptions> = {},
  ) {
    super();
    this.o = { ...DEFAULT_LOOP_OPTIONS, ...options };
    this.lastIntervalMs = this.o.defaultIntervalMs;
  }

  /** Starts the loop: the first pass runs at once. */
  start(): void {
    this.schedule(0);
  }

  /** Whether a pass is running now. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Runs one pass now (used by `start` and by tests); resolves when it is done. Never rejects. */
  async runOnce(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.pass().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops scheduling, waits for the pass in flight, then releases the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    const was = this.deps.lock.isLeader;
    await this.deps.lock.release();
    if (was) this.emit('leadership', { leader: false, reason: 'stopped' });
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runOnce().then(() => undefined), delayMs);
  }

  private jittered(ms: number): number {
    const r = this.deps.random ?? Math.random;
    return Math.max(0, Math.round(ms * (1 + this.o.jitterRatio * (2 * r() - 1))));
  }

  private backoffMs(): number {
    return Math.min(this.o.maxBackoffMs, this.lastIntervalMs * 2 ** Math.max(0, this.failures - 1));
  }

  private async pass(): Promise<void> {
    let next = this.lastIntervalMs;
    try {
      const wasLeader = this.deps.lock.isLeader;
      const leader = await this.deps.lock.tryAcquire();
      if (leader !== wasLeader) this.emit('leadership', { leader, reason: leader ? 'lease acquired' : 'lease held by another replica' });
      if (!leader) {
        next = this.jittered(Math.min(this.lastIntervalMs, STANDBY_RETRY_MS));
        this.emit('passSkipped', { nextInMs: next });
        return;
      }
      if (!wasLeader) {
        this.deps.lock.startRenewing((reason) => this.emit('leadership', { leader: false, reason }));
      }
      this.emit('passStarted');
      const desired = await this.deps.loadDesired();
      const { report, requeueAfterMs } = await reconcile(
        { desired, source: this.deps.source, intent: 'apply', dryRun: this.o.dryRun },
        { ...this.deps.reconcile, defaultIntervalMs: this.o.defaultIntervalMs, mayWrite: () => this.deps.lock.isLeader },
      );
      this.lastIntervalMs = requeueAfterMs;
      this.failures = report.errors.length > 0 ? this.failures + 1 : 0;
      next = this.jittered(this.failures > 0 ? this.backoffMs() : requeueAfterMs);
      await this.deps.history.push(report);
      this.emit('passFinished', { report, nextInMs: next });
    } catch (err) {
      this.failures++;
      next = this.jittered(this.backoffMs());
      const error = err instanceof ValidationError ? err.render() : errorMessage(err);
      this.emit('passFailed', { error, nextInMs: next });
    } finally {
      this.schedule(next);
    }
  }
}
