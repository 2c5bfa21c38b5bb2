/**
 * Progress writes of one job, in order and best effort.
 *
 * `AnalysisStore.update` is a read-modify-write under WATCH; two writes of the same job racing on one connection
 * could land out of order (vision calls finish concurrently), and a late progress write after `complete()` would
 * move a finished record's progress back. So writes are chained one after another, and {@link flush} is awaited
 * before the final write. A failed progress write is logged and skipped: progress must never fail a job.
 */
import type { Logger } from '../platform/logger.ts';
import { errorMessage } from '../platform/errors.ts';
import type { AnalysisStore } from '../analyses/store.ts';
import type { AnalysisStep } from '../analyses/types.ts';

/** Serialises one job's progress writes. */
export class ProgressReporter {
  private chain: Promise<void> = Promise.resolve();
  private lastPercent = -1;
  private readonly store: AnalysisStore;
  private readonly analysisId: string;
  private readonly log: Logger;

  constructor(store: AnalysisStore, analysisId: string, log: Logger) {
    this.store = store;
    this.analysisId = analysisId;
    this.log = log;
  }

  /** Queues "now at `step`, `percent` % done"; a percent lower than the last one reported is ignored. */
  report(step: AnalysisStep, percent: number): void {
    const p = Math.round(percent);
    if (p < this.lastPercent) return;
    this.lastPercent = p;
    this.chain = this.chain
      .then(() => this.store.setProgress(this.analysisId, step, p))
      .then(
        () => undefined,
        (err: unknown) => this.log.warn({ step, err: errorMessage(err) }, 'progress write failed'),
      );
  }

  /** Resolves when every queued write has finished. */
  flush(): Promise<void> {
    return this.chain;
  }
}
