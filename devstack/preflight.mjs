#!/usr/bin/env node
// Checks the prerequisites of `npm test`, `npm run demo` and `npm run bench` before anything starts, and stops at
// once with a message naming what is missing and the command that installs it. Plain JavaScript on purpose:
// it must run before dependencies are installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const what = process.argv[2] ?? 'this command';
const root = fileURLToPath(new URL('..', import.meta.url));
const problems = [];

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) problems.push(`Node.js 20 or newer is required (found ${process.version}): install it from https://nodejs.org or with your package manager`);

function onPath(cmd) {
  const r = spawnSync(cmd, ['-version'], { stdio: 'ignore' });
  return !(r.error && r.error.code === 'ENOENT');
}
if (!onPath('ffmpeg')) problems.push('ffmpeg is not installed: sudo apt-get install -y ffmpeg   (macOS: brew install ffmpeg)');
if (!onPath('ffprobe')) problems.push('ffprobe is not installed (it comes with ffmpeg): sudo apt-get install -y ffmpeg   (macOS: brew install ffmpeg)');
/** True when something accepts TCP connections on 127.0.0.1:6379 within 500 ms (a running Redis is used as is). */
function localRedisListening() {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 6379 });
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
if (!process.env.REDIS_URL) {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (r.error && r.error.code === 'ENOENT' && !(await localRedisListening())) {
    problems.push('redis-server is not installed (and neither REDIS_URL nor a Redis on 127.0.0.1:6379 answers): sudo apt-get install -y redis-server   (macOS: brew install redis)');
  }
}
if (!existsSync(`${root}/node_modules/tsx`)) problems.push('dependencies are not installed: npm ci');

if (problems.length) {
  process.stderr.write(`Cannot run ${what}: ${problems.length} prerequisite${problems.length > 1 ? 's are' : ' is'} missing:\n`);
  for (const p of problems) process.stderr.write(`  - ${p}\n`);
  process.exit(1);
}
