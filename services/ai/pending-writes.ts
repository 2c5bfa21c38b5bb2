/**
 * The coordinator's post-call Redis writes, taken off the caller's critical path: a call answers as soon as the model
 * answered and the answer was validated, while its write (quota settlement, rate-limit hints, usage record with the
 * budget swap, cache entry and erasure index: one `runSteps` round trip, lua-steps.ts) is still on its way.
 *
 * When: {@link PendingWrites.start} queues the write and sends it on the next turn of the event loop (`setImmediate`),
 * not during the call. The caller's answer, and whatever the process does next in the same turn (typically the next
 * call's admission, or the next model request going out), come first; the write's CPU (encoding the command, the
 * socket write) then overlaps the wait for that request instead of delaying the answer (issue 5 §8, bench
 * ai-overhead.ts: the synchronous send cost ~0.2 ms of every miss at p50 on the bench machine). Writes queued in one
 * turn are sent in the order queued.
 *
 * Ordering: a write is sent, in ioredis's order on the coordinator's connection, at the latest on the next turn, and
 * at once by {@link PendingWrites.settle}, which starts every queued write synchronously before it waits: anything
 * sent on the same connection after `settle()` was called (a `UsageLedger` read, the analysis record) is applied after
 * the writes. One exception: the `NOSCRIPT` fallback of lua-script.ts re-sends the script as `EVAL` after the reply;
 * it cannot happen in practice because the admission round trip ran the same script on the same server just before,
 * unless the server lost its scripts in between. Readers on another connection see the write only after `settle()`.
 * A call made in the same turn as an earlier call's return (a loop of calls) is admitted before that call's write is
 * applied: it still finds the earlier answer, which the cache keeps in memory until its write is answered
 * (response-cache.ts `putPending` / `pendingHit`), and it sees the earlier call's budget and quota reservations
 * uncorrected, i.e. at their worst case: conservative, as below.
 *
 * Why a write still in flight, or lost with the process, is safe (checked against the Lua functions):
 * - budget: the call's worst-case cost was reserved atomically before it was sent (`reserve_budget`,
 *   usage-ledger.ts, `total:reserved_usd` of the tenant-day hash). Until `record_usage` swaps it for the real cost
 *   the tenant is charged the worst case: conservative, never an overshoot. A reservation that is never swapped
 *   stops counting when its window ends: the hash is per UTC day, so the next day's budget starts from a new key (the
 *   old hash, and its `reservedUsd`, is kept `retentionDays` for reading only);
 * - quota: the reservation (`reserve_quota`, quota-limiter.ts: a request id in `…:req`, `id|tokens` in `…:tok`
 *   with the prompt estimate plus `max_tokens`) counts fully until `settle_quota` corrects it to `usage`; never
 *   corrected, it ages out of the 60 s sliding window (`ZREMRANGEBYSCORE … now - window`, subtracted from `…:toksum`,
 *   which itself lives `PX window`): over-reserved for at most one window. A probe gate it held expires after
 *   `PROBE_GATE_MS`; rate-limit hints it would have recorded are simply absent (the previous ones expire on their own);
 * - cache: an entry not written is a miss for the next identical request (one more model call), and the erasure
 *   index lists exactly the entries that exist, since both are written by the same `store_cache` step;
 * - usage: a write that never ran (Redis unreachable, the process died) leaves the call out of the usage counters;
 *   the analysis result still lists its record and USD (services/worker/pipeline.ts settles before it stores the
 *   result). A script that fails part way keeps the commands it ran before the failing one (lua-steps.ts); the budget
 *   swap is the last command of `record_usage`, so such a failure too leaves the reservation held, not released.
 *   A failure is logged and counted (`ai_post_call_write_failures_total`), never thrown to the caller, whose answer
 *   is already paid for.
 *
 * Memory: at most `limit` writes are queued or in flight without their caller waiting; a caller whose write goes
 * beyond the limit waits for that write, so a Redis stall slows callers down instead of piling writes up (in flight at
 * most `limit` plus the number of callers waiting, which the worker's concurrency bounds).
 */

/** Options of {@link PendingWrites}. */
export interface PendingWritesOptions {
  /** Most writes in flight without their caller waiting (≥ 1; smaller values are raised to 1). */
  limit: number;
  /** Called when the number of writes in flight changes by `delta` (+1 started, -1 finished), e.g. for a gauge. */
  onCountChange?: (delta: 1 | -1) => void;
}

/** Writes in flight of one coordinator. */
export class PendingWrites {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly limit: number;
  /** Starters of the writes queued for the next event-loop turn, in order. */
  private queue: Array<() => void> = [];
  private flushScheduled = false;

  constructor(private readonly o: PendingWritesOptions) {
    this.limit = Math.max(1, Math.floor(o.limit));
  }

  /** Writes in flight now. */
  get size(): number {
    return this.inFlight.size;
  }

  /**
   * Queues `write` to be sent on the next turn of the event loop (`setImmediate`), after whatever the caller does next
   * in this turn, and tracks it from now on. Every write queued in one turn is sent in that turn's order.
   * @param onFailure called with the error when `write` rejects or throws (must not throw itself; if it does, that
   *   error is swallowed so the write still counts as finished).
   * @returns a promise that resolves at once while at most `limit` writes are queued or in flight (this one included),
   *   else when this write has finished. It never rejects.
   */
  start(write: () => Promise<unknown>, onFailure: (err: unknown) => void): Promise<void> {
    let done!: (outcome: Promise<unknown>) => void;
    const outcome = new Promise<unknown>((resolve) => (done = resolve));
    this.queue.push(() => {
      try {
        done(write());
      } catch (err) {
        done(Promise.reject(err));
      }
    });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    this.o.onCountChange?.(1);
    const tracked: Promise<void> = outcome
      .then(
        () => undefined,
        (err: unknown) => {
          try {
            onFailure(err);
          } catch {
            // a failing failure handler must not make the write look unfinished
          }
        },
      )
      .finally(() => {
        this.inFlight.delete(tracked);
        this.o.onCountChange?.(-1);
      });
    this.inFlight.add(tracked);
    return this.inFlight.size > this.limit ? tracked : Promise.resolve();
  }

  /** Starts every queued write now, synchronously, in the order queued. */
  private flush(): void {
    this.flushScheduled = false;
    const due = this.queue;
    this.queue = [];
    for (const send of due) send();
  }

  /**
   * Sends the queued writes now, then waits until every write started before this call has finished, successfully or
   * not (writes started later are not waited for, so a busy coordinator cannot starve the caller). Never rejects.
   */
  async settle(): Promise<void> {
    this.flush();
    await Promise.all([...this.inFlight]);
  }
}
