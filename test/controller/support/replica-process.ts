/**
 * A reconciler replica in its own process, for the leader-takeover test: runs a ReconcileLoop on
 * desired-state/dev.yml against the AWS endpoint in AWS_ENDPOINT with the lease LOCK_KEY (TTL LOCK_TTL_MS) in
 * REDIS_URL, and prints `leader` once it holds the lease. It never exits on its own: the test SIGKILLs it, so
 * the lease is never released and must expire.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { parseDesiredState } from '../../../services/platform/desired-state.ts';
import { LeaderLock } from '../../../controller/leader-lock.ts';
import { ReconcileLoop } from '../../../controller/loop.ts';
import { ReportHistory } from '../../../controller/report/history.ts';
import { clientsFor } from './seed.ts';

const { AWS_ENDPOINT, REDIS_URL, LOCK_KEY, LOCK_TTL_MS, KEY_PREFIX } = process.env;
if (!AWS_ENDPOINT || !REDIS_URL || !LOCK_KEY || !LOCK_TTL_MS || !KEY_PREFIX) throw new Error('replica-process: AWS_ENDPOINT, REDIS_URL, LOCK_KEY, LOCK_TTL_MS, KEY_PREFIX are required');
const desired = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const redis = new Redis(REDIS_URL);
const lock = new LeaderLock(redis, LOCK_KEY, `child-${process.pid}`, { ttlMs: Number(LOCK_TTL_MS) });
const loop = new ReconcileLoop(
  {
    loadDesired: async () => desired,
    source: 'desired-state/dev.yml',
    reconcile: { ...clientsFor(AWS_ENDPOINT), taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 4 } },
    lock,
    history: new ReportHistory(redis, KEY_PREFIX, 3),
  },
  { defaultIntervalMs: 60_000 },
);
loop.on('leadership', ({ leader }) => {
  if (leader) process.stdout.write(`leader ${lock.holderId}\n`);
});
loop.start();
