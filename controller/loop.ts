/**
 * The reconcile loop of the reconciler service: owns what a single pass does not (controller-runtime's
 * `internal/controller`): leader lease, interval with jitter, back-off after failed passes, report history,
 * and a graceful stop that lets the pass in flight finish. Emits typed events; metrics and logs subscribe.
 *
 * Each pass re-reads the desired-state file, so an edit is picked up by the next pass without a restart
 * (level-triggered). With `watchFile`, an edit also triggers a pass at once (fs.watch on the file's directory,
 * debounced, since editors save by rename). An invalid edit is reported (`desiredRejected`) and the last valid
 * document keeps being reconciled; with no valid document yet, the pass fails and nothing is written.
 *
 * Failures are handled at two levels: a failed write backs off only its resource (`resource-backoff.ts`), the
 * other resources go on at the normal interval; a pass that could not run at all (invalid document, cluster
 * unreadable, Redis down) backs off the whole loop, doubling the interval up to `maxBackoffMs`.
 *
 * After each pass, finished or failed, the leader publishes the pass's CloudWatch metrics (`publishMetrics`,
 * `metrics-publisher/pass-metrics.ts`): the worker's queue depth from what the pass observed, and ReconcileErrors
 * (failed actions + failed passes, 0 on a clean pass), so both are as fresh as the pass interval (60 s by default,
 * CloudWatch's standard period). Their outcomes are `queueMetric` and `reconcileErrorsMetric` events, emitted
 * before `passFinished` / `passFailed`; a failed publication never fails the pass.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { DesiredState } from '../services/platform/desired-state.ts';
import { ValidationError, errorMessage } from '../services/platform/errors.ts';
import type { DriftReport } from './types.ts';
import type { QueueMetricOutcome } from './queue-depth/datum.ts';
import type { PassFacts, PassMetricsPublisher, ReconcileErrorsOutcome } from './metrics-publisher/pass-metrics.ts';
import { RECONCILE_ERRORS, metricLabel } from './metrics-publisher/catalog.ts';
import { reconcile, type ReconcileDeps } from './reconcile.ts';
import type { LeaderLock } from './leader-lock.ts';
import type { ReportHistory } from './report/history.ts';
import { ResourceBackoff } from './resource-backoff.ts';

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
  /** The watched desired-state file changed and is valid: a pass was requested. */
  desiredChanged: [];
  /** The desired-state file is invalid; the last valid document keeps being reconciled. */
  desiredRejected: [{ error: string }];
  /** The queue-depth metric was published, skipped or failed after a pass (before its `passFinished`). */
  queueMetric: [QueueMetricOutcome];
  /** ReconcileErrors was published, skipped or failed after a pass (before its `passFinished` / `passFailed`). */
  reconcileErrorsMetric: [ReconcileErrorsOutcome];
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
  /** Quiet time after the last change event of the watched file before it is read, ms. @defaultValue 250 */
  watchDebounceMs: number;
}

/**
 * How often a standby replica (not the leader) retries the lease, at most, ms: about one lease duration
 * (client-go's 15 s), so a dead leader is replaced within roughly two leases.
 */
export const STANDBY_RETRY_MS = 15_000;

/** Defaults of {@link LoopOptions}. */
export const DEFAULT_LOOP_OPTIONS: LoopOptions = { defaultIntervalMs: 60_000, jitterRatio: 0.1, maxBackoffMs: 600_000, dryRun: false, watchDebounceMs: 250 };

/** Collaborators of {@link ReconcileLoop}. */
export interface LoopDeps {
  /** Reads and validates the desired state (called every pass). */
  loadDesired: () => Promise<DesiredState>;
  /** Desired-state file name, for reports. */
  source: string;
  reconcile: Omit<ReconcileDeps, 'defaultIntervalMs' | 'mayWrite' | 'backoff'>;
  /** Desired-state file to watch: a valid edit triggers a pass at once. @defaultValue not watched */
  watchFile?: string;
  /** Per-resource write back-off. @defaultValue a new {@link ResourceBackoff} with its defaults */
  backoff?: ResourceBackoff;
  /**
   * Publishes the CloudWatch metrics of each pass of the leader (`metrics-publisher/pass-metrics.ts`, which never
   * throws). @defaultValue not published
   */
  publishMetrics?: PassMetricsPublisher;
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
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private rerun = false;
  private lastGood: DesiredState | undefined;
  /** Per-resource back-off of writes, kept across passes. */
  readonly backoff: ResourceBackoff;

  constructor(
    private readonly deps: LoopDeps,
    options: Partial<LoopOptions> = {},
  ) {
    super();
    this.o = { ...DEFAULT_LOOP_OPTIONS, ...options };
    this.lastIntervalMs = this.o.defaultIntervalMs;
    this.backoff = deps.backoff ?? new ResourceBackoff();
  }

  /** Starts the loop: the first pass runs at once; starts watching `watchFile` if set. */
  start(): void {
    if (this.deps.watchFile !== undefined && !this.watcher) this.startWatching(this.deps.watchFile);
    this.schedule(0);
  }

  private startWatching(file: string): void {
    const name = basename(file);
    // The directory, not the file: editors and `kubectl cp`-style tools replace the file (rename), which ends a
    // watch on the old inode.
    this.watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.onFileChanged(), this.o.watchDebounceMs);
    });
    this.watcher.on('error', (err) => this.emit('desiredRejected', { error: `watching ${file}: ${errorMessage(err)}` }));
    this.watcher.unref();
  }

  private async onFileChanged(): Promise<void> {
    if (this.stopping) return;
    try {
      this.lastGood = await this.deps.loadDesired();
    } catch (err) {
      this.emit('desiredRejected', { error: err instanceof ValidationError ? err.render() : errorMessage(err) });
      return;
    }
    this.emit('desiredChanged');
    this.failures = 0; // a new document deserves a prompt try, whatever failed before
    if (this.inFlight) this.rerun = true;
    else this.schedule(0);
  }

  /** Reads the document; an invalid one falls back to the last valid one (reported), else throws. */
  private async desired(): Promise<DesiredState> {
    try {
      this.lastGood = await this.deps.loadDesired();
      return this.lastGood;
    } catch (err) {
      if (!this.lastGood || !(err instanceof ValidationError)) throw err;
      this.emit('desiredRejected', { error: err.render() });
      return this.lastGood;
    }
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
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
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

  /** Publishes the pass's metrics if configured and still the leader; emits their outcomes. Never throws. */
  private async publishMetrics(facts: PassFacts): Promise<void> {
    if (!this.deps.publishMetrics || !this.deps.lock.isLeader) return;
    try {
      const out = await this.deps.publishMetrics({ ...facts, isBackedOff: (resource) => this.backoff.get(resource) !== undefined });
      if (out.queueDepth) this.emit('queueMetric', out.queueDepth);
      this.emit('reconcileErrorsMetric', out.reconcileErrors);
    } catch (err) {
      this.emit('reconcileErrorsMetric', { outcome: 'skipped', metric: metricLabel(RECONCILE_ERRORS), reason: `publisher threw: ${errorMessage(err)}` });
    }
  }

  private async pass(): Promise<void> {
    let next = this.lastIntervalMs;
    let facts: PassFacts = {};
    try {
      const wasLeader = this.deps.lock.isLeader;
      const leader = await this.deps.lock.tryAcquire();
      if (leader !== wasLeader) this.emit('leadership', { leader, reason: leader ? 'lease acquired' : 'lease held by another replica' });
      if (!leader) {
        // Retry within half a lease so a dead leader is replaced within lease + half a lease < 2 × lease.
        next = this.jittered(Math.min(this.lastIntervalMs, STANDBY_RETRY_MS, this.deps.lock.ttlMs / 2));
        this.emit('passSkipped', { nextInMs: next });
        return;
      }
      if (!wasLeader) {
        this.deps.lock.startRenewing((reason) => this.emit('leadership', { leader: false, reason }));
      }
      this.emit('passStarted');
      const desired = await this.desired();
      facts = { desired };
      const { report, requeueAfterMs, observed } = await reconcile(
        { desired, source: this.deps.source, intent: 'apply', dryRun: this.o.dryRun },
        { ...this.deps.reconcile, defaultIntervalMs: this.o.defaultIntervalMs, mayWrite: () => this.deps.lock.isLeader, backoff: this.backoff },
      );
      facts = { desired, report, ...(observed ? { observed } : {}) };
      this.lastIntervalMs = requeueAfterMs;
      // Errors of single resources are backed off per resource (this.backoff); only a pass that saw nothing
      // (an error with no resource: the cluster could not be read) slows the whole loop down.
      this.failures = report.errors.some((e) => e.resource === undefined) ? this.failures + 1 : 0;
      next = this.jittered(this.failures > 0 ? this.backoffMs() : requeueAfterMs);
      await this.deps.history.push(report);
      await this.publishMetrics(facts);
      this.emit('passFinished', { report, nextInMs: next });
    } catch (err) {
      this.failures++;
      next = this.jittered(this.backoffMs());
      const error = err instanceof ValidationError ? err.render() : errorMessage(err);
      const desired = facts.desired ?? this.lastGood;
      await this.publishMetrics({ ...facts, ...(desired ? { desired } : {}), failure: error });
      this.emit('passFailed', { error, nextInMs: next });
    } finally {
      if (this.rerun) {
        this.rerun = false;
        next = 0;
      }
      this.schedule(next);
    }
  }
}
