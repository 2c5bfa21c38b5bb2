import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';

// A PATH holding only `node`: ffmpeg, ffprobe and redis-server are all "missing".
const bare = mkdtempSync(join(tmpdir(), 'ct-preflight-'));
symlinkSync(process.execPath, join(bare, 'node'));

function preflight(what: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['devstack/preflight.mjs', what], { cwd: process.cwd(), env, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** Whether a Redis already answers on 127.0.0.1:6379 (then a missing redis-server binary is no problem). */
function localRedisListening(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: 6379 });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

test('npm test and npm run demo stop at once, naming each missing prerequisite and its install command', async () => {
  const redisRuns = await localRedisListening();
  for (const what of ['test', 'demo']) {
    const r = preflight(what, { PATH: bare });
    assert.is(r.status, 1);
    assert.match(r.stderr, new RegExp(`^Cannot run ${what}: ${redisRuns ? 2 : 3} prerequisites are missing`));
    assert.match(r.stderr, /ffmpeg is not installed: sudo apt-get install -y ffmpeg/);
    assert.match(r.stderr, /ffprobe is not installed/);
    const redisLine = /redis-server is not installed \(and neither REDIS_URL nor a Redis on 127.0.0.1:6379 answers\): sudo apt-get install -y redis-server/;
    if (redisRuns) assert.not.match(r.stderr, /redis-server/);
    else assert.match(r.stderr, redisLine);
  }
});

test('a REDIS_URL stands in for a local redis-server', () => {
  const r = preflight('test', { PATH: bare, REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.match(r.stderr, /2 prerequisites are missing/);
  assert.not.match(r.stderr, /redis-server/);
});

test('with everything installed it says nothing and succeeds', () => {
  const r = preflight('test', { PATH: process.env.PATH ?? '' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '');
});

test.after(() => rmSync(bare, { recursive: true, force: true }));
test.run();
