/**
 * Leader election through one Redis key, so that of several reconciler replicas only one acts
 * (controller-runtime's Lease, reference/operator-anchors.md §1: lease 15 s, renew well inside it).
 * Acquire: `SET key id NX PX ttl`. Renew and release are compare-and-act Lua scripts, so a replica that lost the
 * key (expired while it was paused) can never extend or delete another replica's lease.
 */
import type { Redis } from 'ioredis';

/** Options of {@link LeaderLock}. */
export interface LeaderLockOptions {
  /** Lease duration, ms. @defaultValue 15000 (client-go LeaseDuration) */
  ttlMs: number;
  /** Renewal period while leader, ms. @defaultValue ttlMs / 3 */
  renewEveryMs?: number;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** A lease held (or not) by this process. */
export class LeaderLock {
  private timer: NodeJS.Timeout | undefined;
  private leader = false;

  /**
   * @param key Redis key of the lease, e.g. `<prefix>:reconciler:leader`.
   * @param holderId unique id of this replica (hostname, pid and a random part).
   */
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly holderId: string,
    private readonly options: LeaderLockOptions = { ttlMs: 15_000 },
  ) {}

  /** Lease duration, ms. */
  get ttlMs(): number {
    return this.options.ttlMs;
  }

  /** Whether this process held the lease at the last acquire or renewal. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * Takes the lease if free, or renews it if already ours.
   * @returns whether this process is the leader now.
   */
  async tryAcquire(): Promise<boolean> {
    const set = await this.redis.set(this.key, this.holderId, 'PX', this.options.ttlMs, 'NX');
    this.leader = set === 'OK' || (await this.renew());
    return this.leader;
  }

  /** Extends the lease when it is still ours. @returns whether it was. */
  async renew(): Promise<boolean> {
    const r = await this.redis.eval(RENEW, 1, this.key, this.holderId, String(this.options.ttlMs));
    this.leader = r === 1;
    return this.leader;
  }

  /**
   * Renews the lease periodically until {@link stopRenewing}; calls `onLost` once if a renewal finds it gone
   * (or fails), after which this process must stop acting.
   */
  startRenewing(onLost: (reason: string) => void): void {
    this.stopRenewing();
    const every = this.options.renewEveryMs ?? Math.floor(this.options.ttlMs / 3);
    this.timer = setInterval(() => {
      this.renew().then(
        (ok) => {
          if (!ok) {
            this.stopRenewing();
            onLost('lease taken or expired');
          }
        },
        (err: unknown) => {
          this.leader = false;
          this.stopRenewing();
          onLost(`renewal failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    }, every);
    this.timer.unref();
  }

  /** Stops periodic renewal. */
  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and deletes the lease if it is ours, so another replica takes over at once. */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.redis.eval(RELEASE, 1, this.key, this.holderId);
    this.leader = false;
  }
}
