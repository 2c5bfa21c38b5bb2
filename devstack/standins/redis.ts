/**
 * Redis for local runs: `REDIS_URL` when given, else a server already listening on 127.0.0.1:6379, else a
 * `redis-server` spawned on a free loopback port with no persistence and `maxmemory-policy noeviction`
 * (the only policy under which BullMQ queues stay correct).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';

/** A Redis the caller can use; `close()` stops it only when this module spawned it. */
export interface RedisStandIn {
  url: string;
  spawned: boolean;
  close(): Promise<void>;
}

async function ping(url: string, timeoutMs = 800): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * @param preferredUrl a URL to use when it answers (typically `process.env.REDIS_URL`).
 * @throws Error naming the install command when redis-server is needed but not installed.
 */
export async function startRedis(preferredUrl?: string): Promise<RedisStandIn> {
  if (preferredUrl && (await ping(preferredUrl))) return { url: preferredUrl, spawned: false, close: async () => undefined };
  const local = 'redis://127.0.0.1:6379';
  if (!preferredUrl && (await ping(local))) return { url: local, spawned: false, close: async () => undefined };
  return spawnRedis();
}

/**
 * Spawns a `redis-server` of its own on a free loopback port (no persistence, `noeviction`), whatever else is
 * running: for tests that pause, fill or break their Redis (CLIENT PAUSE, maxmemory) without touching anyone else's.
 * @throws Error naming the install command when redis-server is not installed.
 */
export async function spawnRedis(): Promise<RedisStandIn> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new Error('redis-server not found: install it with `sudo apt-get install -y redis-server`') : e));
    child.once('spawn', () => resolve());
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await ping(url, 200)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await ping(url))) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on ${url}`);
  }
  return {
    url,
    spawned: true,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Deletes every key that starts with `prefix` (SCAN in pages of 500, so a large keyspace never blocks Redis).
 * Used to leave nothing behind after a test file or a benchmark run.
 * @returns how many keys were deleted.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
