/**
 * Redis-backed store of analysis records, shared by the API and the worker.
 *
 * Keys (all under the configured prefix):
 * - `<prefix>:analysis:<id>` — the record as JSON;
 * - `<prefix>:idem:<tenant>:<sha256(idempotency key)>` — the analysis id created for that key;
 * - `<prefix>:analyses:tenant:<tenant>` — the tenant's index: a sorted set whose members all have score 0 and are
 *   `<createdAt ms, 15 digits>:<id>`, so lexicographic order is creation order and `ZRANGE … BYLEX` pages through
 *   it by time with exact, tie-free bounds (Redis docs, "ZRANGE", BYLEX).
 * Creation is one Lua script ({@link CREATE}): the idempotency key, the record and its index entry are written
 * together, so two concurrent requests with the same key create one analysis, from one process or several. (Two
 * steps, SET NX on the key then the record, let a second process see the key before the record existed, take the
 * key for a "stale" one and create a second analysis.) The script reads the record a key names, a key it is not
 * given: the store needs a single-shard Redis, as the whole service does (services/platform/redis.ts).
 *
 * Retention: a record expires `ttlSec` after its last write. The index has no per-member expiry: members whose
 * record has expired are dropped when a scan meets them, members older than the retention horizon (plus a day of
 * slack for late updates) are trimmed on every create, and the index key itself expires `ttlSec` after the
 * tenant's last create.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../platform/errors.ts';
import { LuaScript } from '../ai/lua-script.ts';
import type { AnalysisOptions, AnalysisRecord, AnalysisResult, AnalysisStep, Tier } from './types.ts';

/** Input of {@link AnalysisStore.create}. */
export interface NewAnalysis {
  tenantId: string;
  videoKey: string;
  tier: Tier;
  options: AnalysisOptions;
  idempotencyKey?: string;
}

/** Width of the zero-padded creation time in index members (ms since the epoch fits in 15 digits until year 33658). */
const INDEX_TIME_DIGITS = 15;

/** An index member: `<createdAt ms, 15 digits>:<id>`. */
export const INDEX_MEMBER_PATTERN = /^\d{15}:an_[0-9a-f]{32}$/;

/** The index member of a record created at `createdAtMs` (ms since the epoch). */
export function indexMember(createdAtMs: number, id: string): string {
  return `${indexTime(createdAtMs)}:${id}`;
}

function indexTime(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(INDEX_TIME_DIGITS, '0');
}

/** Which part of a tenant's index {@link AnalysisStore.scanTenant} walks, newest first. */
export interface TenantScanRange {
  /** Only records created at or after this time, ms since the epoch. */
  createdFromMs?: number;
  /** Only records created before this time (exclusive), ms since the epoch. */
  createdBeforeMs?: number;
  /** Resume strictly after this index member (an earlier scan's `position`); it must match INDEX_MEMBER_PATTERN. */
  after?: string;
  /** Index members fetched per round trip. @defaultValue 100 */
  batchSize?: number;
}

/** One entry met by a scan: the record and its place in the index (what a cursor resumes from). */
export interface TenantScanEntry {
  position: string;
  record: AnalysisRecord;
}

/** What {@link AnalysisStore.erase} deleted. */
export interface ErasedRecord {
  /** The record key existed and was deleted. */
  record: boolean;
  /** The Idempotency-Key mapping existed and was deleted. */
  idempotencyKey: boolean;
}

/** Lua: delete KEYS[1] only when its value is ARGV[1]; returns how many keys were deleted. */
const DELETE_IF_EQUALS = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * Lua compare-and-set: when KEYS[1] holds exactly ARGV[1], set it to ARGV[2] with a TTL of ARGV[3] seconds and
 * return 1; return 0 when it holds something else, -1 when it is missing. Atomic on the server.
 */
const SET_IF_EQUALS =
  "local cur = redis.call('GET', KEYS[1]) if not cur then return -1 end if cur ~= ARGV[1] then return 0 end " +
  "redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3])) return 1";

/**
 * Lua: create a record unless its idempotency key already names a live one.
 * KEYS: idempotency key (a placeholder, never touched, when ARGV[6] is '0'), record key, tenant index.
 * ARGV: id, record JSON, ttl s, index member, trim horizon (exclusive lex bound), use idempotency ('1'/'0'),
 * index ttl s, record key prefix (`<prefix>:analysis:`).
 * Returns {1} when created, {0, json} with the existing record. A key whose record has expired or was erased is
 * taken over.
 */
const CREATE = new LuaScript(`
if ARGV[6] == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing then
    local record = redis.call('GET', ARGV[8] .. existing)
    if record then return {0, record} end
  end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('ZREMRANGEBYLEX', KEYS[3], '-', ARGV[5])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[7]))
return {1}
`);

/** Store of analysis records. */
export class AnalysisStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  /** Records expire this many seconds after their last update (GDPR retention). */
  private readonly ttlSec: number;
  /** Tail of the chain of pending updates per record id (see {@link AnalysisStore.update}). */
  private readonly updating = new Map<string, Promise<void>>();

  /**
   * @param redis a connection (producer or general).
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   * @param ttlSec retention of a record after its last write, seconds. @defaultValue 30 days
   */
  constructor(redis: Redis, prefix: string, ttlSec = 30 * 24 * 3600) {
    this.redis = redis;
    this.prefix = prefix;
    this.ttlSec = ttlSec;
  }

  private key(id: string): string {
    return `${this.prefix}:analysis:${id}`;
  }

  private idemKey(tenantId: string, idempotencyKey: string): string {
    return `${this.prefix}:idem:${tenantId}:${createHash('sha256').update(idempotencyKey).digest('hex')}`;
  }

  /** Key of a tenant's index (see the module comment). */
  tenantIndexKey(tenantId: string): string {
    return `${this.prefix}:analyses:tenant:${tenantId}`;
  }

  /** Retention of a record after its last write, seconds. */
  get retentionSec(): number {
    return this.ttlSec;
  }

  /**
   * The analysis the tenant created with `idempotencyKey`, while its record is kept; undefined when there is none.
   */
  async findByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<AnalysisRecord | undefined> {
    const id = await this.redis.get(this.idemKey(tenantId, idempotencyKey));
    return id ? this.get(id) : undefined;
  }

  /**
   * Creates a queued analysis, or returns the existing one when the tenant already used `idempotencyKey`.
   * @returns the record and whether it was created now.
   */
  async create(input: NewAnalysis): Promise<{ record: AnalysisRecord; created: boolean }> {
    const id = `an_${randomUUID().replace(/-/g, '')}`;
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const record: AnalysisRecord = {
      id,
      tenantId: input.tenantId,
      status: 'queued',
      videoKey: input.videoKey,
      tier: input.tier,
      options: input.options,
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
      createdAt: now,
      updatedAt: now,
      progress: { step: 'queued', percent: 0 },
      attempts: 0,
    };
    const index = this.tenantIndexKey(input.tenantId);
    // Members created before the horizon have certainly expired (a record outlives its creation by the retention
    // plus its run time, far below a day of slack).
    const horizon = `(${indexTime(nowMs - (this.ttlSec + 86_400) * 1000)}`;
    const idem = input.idempotencyKey ? this.idemKey(input.tenantId, input.idempotencyKey) : undefined;
    const reply = (await CREATE.run(
      this.redis,
      [idem ?? `${this.prefix}:idem:-`, this.key(id), index],
      [
        id,
        JSON.stringify(record),
        this.ttlSec,
        indexMember(nowMs, id),
        horizon,
        idem ? '1' : '0',
        this.ttlSec + 86_400,
        this.key(''),
      ],
    )) as [number, string?];
    if (reply[0] === 1) return { record, created: true };
    return { record: JSON.parse(reply[1] ?? 'null') as AnalysisRecord, created: false };
  }

  /** Records of several ids in one round trip, `undefined` where missing (expired or erased). */
  async getMany(ids: readonly string[]): Promise<Array<AnalysisRecord | undefined>> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.key(id)));
    return raws.map((raw) => (raw ? (JSON.parse(raw) as AnalysisRecord) : undefined));
  }

  /**
   * Walks a tenant's records newest first, within `range`, fetching `batchSize` index members per round trip.
   * Members whose record has expired are removed from the index on the way and not yielded. Stop iterating
   * whenever enough was seen; nothing is held open.
   * @throws Error when `range.after` is not an index member (callers validate cursors before).
   */
  async *scanTenant(tenantId: string, range: TenantScanRange = {}): AsyncGenerator<TenantScanEntry> {
    if (range.after !== undefined && !INDEX_MEMBER_PATTERN.test(range.after)) throw new Error(`scanTenant: ${range.after} is not an index member`);
    const index = this.tenantIndexKey(tenantId);
    const batch = Math.max(1, Math.floor(range.batchSize ?? 100));
    // Upper bound (exclusive): before the resume point, or before createdBeforeMs; the tighter one.
    let max = '+';
    if (range.createdBeforeMs !== undefined) max = `(${indexTime(range.createdBeforeMs)}`;
    if (range.after !== undefined && (max === '+' || range.after < max.slice(1))) max = `(${range.after}`;
    const min = range.createdFromMs !== undefined ? `[${indexTime(range.createdFromMs)}` : '-';
    for (;;) {
      const members = await this.redis.zrevrangebylex(index, max, min, 'LIMIT', 0, batch);
      if (members.length === 0) return;
      const ids = members.map((m) => m.slice(INDEX_TIME_DIGITS + 1));
      const records = await this.getMany(ids);
      const gone = members.filter((_, i) => records[i] === undefined);
      if (gone.length > 0) await this.redis.zrem(index, ...gone);
      for (let i = 0; i < members.length; i++) {
        const record = records[i];
        const position = members[i];
        if (record && position !== undefined) yield { position, record };
      }
      if (members.length < batch) return;
      max = `(${members[members.length - 1] ?? ''}`;
    }
  }

  /**
   * Whether the tenant's index holds any member strictly older than `position` (and at or after `createdFromMs`),
   * i.e. whether a scan resumed from `position` could yield more. Expired members count until a scan drops them.
   */
  async hasOlder(tenantId: string, position: string, createdFromMs?: number): Promise<boolean> {
    const min = createdFromMs !== undefined ? `[${indexTime(createdFromMs)}` : '-';
    const next = await this.redis.zrevrangebylex(this.tenantIndexKey(tenantId), `(${position}`, min, 'LIMIT', 0, 1);
    return next.length > 0;
  }

  /**
   * Deletes the record, its index member and its Idempotency-Key mapping in one transaction (GDPR erasure; the
   * caller removes everything else first, so a failure leaves the record in place to retry from).
   */
  async erase(record: AnalysisRecord): Promise<ErasedRecord> {
    const tx = this.redis
      .multi()
      .del(this.key(record.id))
      .zrem(this.tenantIndexKey(record.tenantId), indexMember(Date.parse(record.createdAt), record.id));
    // The mapping is deleted only while it still names this analysis: after it expired, the key may have been
    // reused for a newer analysis, whose mapping must survive.
    if (record.idempotencyKey) tx.eval(DELETE_IF_EQUALS, 1, this.idemKey(record.tenantId, record.idempotencyKey), record.id);
    const res = (await tx.exec()) ?? [];
    const count = (i: number): number => {
      const entry = res[i];
      if (entry?.[0]) throw entry[0];
      return Number(entry?.[1] ?? 0);
    };
    return { record: count(0) === 1, idempotencyKey: record.idempotencyKey ? count(2) === 1 : false };
  }

  /** The record, or `undefined`. */
  async get(id: string): Promise<AnalysisRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as AnalysisRecord) : undefined;
  }

  /**
   * The record if it belongs to `tenantId`.
   * @throws NotFoundError when missing or owned by another tenant (the two are indistinguishable to the caller).
   */
  async getForTenant(id: string, tenantId: string): Promise<AnalysisRecord> {
    const r = await this.get(id);
    if (!r || r.tenantId !== tenantId) throw new NotFoundError(`analysis ${id} not found`);
    return r;
  }

  /**
   * Applies `patch` to the stored record. Updates of one record from this process run one after another (a
   * per-record promise chain), and each is a read, the patch, then an atomic compare-and-set in Lua (the write
   * happens only while the stored JSON is still exactly what was read), retried when another process won the race.
   * Unlike WATCH/MULTI this stays correct on a connection shared by concurrent jobs (WATCH state is per connection:
   * Redis docs, "Transactions").
   * @throws NotFoundError when the record does not exist (or disappears meanwhile).
   * @throws Error after 20 lost races in a row against other processes.
   */
  update(id: string, patch: (r: AnalysisRecord) => AnalysisRecord): Promise<AnalysisRecord> {
    const previous = this.updating.get(id) ?? Promise.resolve();
    const run = previous.then(() => this.compareAndSet(id, patch));
    const tail = run.then(() => undefined, () => undefined);
    this.updating.set(id, tail);
    void tail.then(() => {
      if (this.updating.get(id) === tail) this.updating.delete(id);
    });
    return run;
  }

  private async compareAndSet(id: string, patch: (r: AnalysisRecord) => AnalysisRecord): Promise<AnalysisRecord> {
    const key = this.key(id);
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(key);
      if (!raw) throw new NotFoundError(`analysis ${id} not found`);
      const next = { ...patch(JSON.parse(raw) as AnalysisRecord), updatedAt: new Date().toISOString() };
      const res = Number(await this.redis.eval(SET_IF_EQUALS, 1, key, raw, JSON.stringify(next), String(this.ttlSec)));
      if (res === 1) return next;
      if (res === -1) throw new NotFoundError(`analysis ${id} not found`);
      // Another process wrote in between: back off a little (jittered) and re-read.
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
    }
    throw new Error(`analysis ${id}: too many concurrent updates`);
  }

  /** Marks the analysis running and counts the attempt. */
  markRunning(id: string): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, status: 'running', attempts: r.attempts + 1 }));
  }

  /**
   * Puts a started analysis back to `queued`: its job waits for a concurrent analysis of the same content. The
   * attempt does not count (BullMQ does not count a delayed job's run as an attempt either).
   */
  defer(id: string): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, status: 'queued', attempts: Math.max(0, r.attempts - 1), progress: { step: 'queued', percent: 0 } }));
  }

  /** Records progress: the current step and overall percent (0–100). */
  setProgress(id: string, step: AnalysisStep, percent: number): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, progress: { step, percent: Math.max(0, Math.min(100, Math.round(percent))) } }));
  }

  /** Stores the result and marks the analysis succeeded. */
  complete(id: string, result: AnalysisResult): Promise<AnalysisRecord> {
    return this.update(id, (r) => {
      const { error: _dropped, ...rest } = r;
      return { ...rest, status: 'succeeded', result, progress: { step: 'done', percent: 100 } };
    });
  }

  /**
   * Records a failure. With `final: false` (a retry will follow) the status stays `queued` with the last error.
   */
  fail(id: string, error: { code: string; message: string }, final: boolean): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, status: final ? 'failed' : 'queued', error }));
  }
}
