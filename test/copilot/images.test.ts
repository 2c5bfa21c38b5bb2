/**
 * The container images, checked from the Dockerfile's text (no Docker daemon needed): each target the manifests
 * build exists, starts from Node 22 LTS, installs production dependencies only, runs as a non-root user under
 * tini with the documented command, the worker has ffmpeg, health checks probe the right port, nothing secret is
 * baked in, and every COPY source exists and is not excluded by .dockerignore. The health probe script is run for
 * real against loopback HTTP servers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadCopilotApp } from '../../services/platform/copilot-manifests.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const app = loadCopilotApp(ROOT);

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into ARGs before the first FROM and stages (continuations joined, comments dropped). */
function parseDockerfile(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.trim().startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `;
    else {
      logical.push((current + line).trim());
      current = '';
    }
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) throw new Error(`cannot parse "${l}"`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(args);
      if (!f) throw new Error(`bad FROM "${args}"`);
      stages.push({ from: f[1]!, name: f[2] ?? `#${stages.length}`, instructions: [] });
    } else if (stages.length === 0) {
      if (op !== 'ARG') throw new Error(`${op} before the first FROM`);
      const [k, v = ''] = args.split('=');
      globalArgs[k!] = v;
    } else stages[stages.length - 1]!.instructions.push({ op, args });
  }
  return { globalArgs, stages };
}

const dockerfile = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
const stageByName = new Map(dockerfile.stages.map((s) => [s.name, s]));

/** A target's stages from the root image to the target itself. */
function chain(target: string): Stage[] {
  const out: Stage[] = [];
  let s = stageByName.get(target);
  while (s) {
    out.unshift(s);
    s = stageByName.get(s.from);
  }
  return out;
}

function all(target: string, op: string): Instruction[] {
  return chain(target).flatMap((s) => s.instructions.filter((i) => i.op === op));
}

function resolveImage(from: string): string {
  return from.replace(/\$\{(\w+)\}/g, (_, n: string) => dockerfile.globalArgs[n] ?? '');
}

/** The api's Node flags: the load bench runs both of its servers with the same ones, so it measures what production runs. */
const API_NODE_FLAGS = (await import('../../bench/api-load.ts')).API_NODE_FLAGS;
const TARGETS: Record<string, string> = { api: 'services/api/main.ts', worker: 'services/worker/main.ts', reconciler: 'controller/main.ts' };

test('each manifest builds a target of the shared Dockerfile from the repository root', () => {
  for (const s of app.services) {
    const build = (s.manifest.image as Record<string, unknown>).build as Record<string, string>;
    assert.equal(build, { dockerfile: 'Dockerfile', context: '.', target: s.name }, s.name);
    assert.ok(stageByName.has(build.target!), `stage ${build.target} exists`);
    assert.ok(existsSync(`${ROOT}${build.dockerfile}`));
  }
});

test('targets start from node:22-bookworm-slim and install production dependencies with npm ci --omit=dev', () => {
  for (const target of Object.keys(TARGETS)) {
    assert.is(resolveImage(chain(target)[0]!.from), 'node:22-bookworm-slim', target);
    const fromDeps = all(target, 'COPY').filter((c) => c.args.startsWith('--from=deps'));
    assert.equal(fromDeps.map((c) => c.args), ['--from=deps /app/node_modules ./node_modules'], `${target} takes node_modules from the deps stage`);
  }
  const deps = stageByName.get('deps')!;
  assert.is(resolveImage(deps.from), 'node:22-bookworm-slim');
  assert.ok(deps.instructions.some((i) => i.op === 'RUN' && /\bnpm ci --omit=dev\b/.test(i.args)), 'npm ci --omit=dev');
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string> };
  assert.ok('tsx' in pkg.dependencies, 'tsx is a runtime dependency, so --omit=dev keeps it');
});

test('every target runs as a non-root user, under tini, with the documented command', () => {
  for (const [target, entry] of Object.entries(TARGETS)) {
    const instructions = chain(target).flatMap((s) => s.instructions);
    const lastUser = instructions.map((i, n) => ({ i, n })).filter(({ i }) => i.op === 'USER').pop();
    assert.ok(lastUser, `${target} sets USER`);
    assert.not.ok(/^(root|0)(:|$)/.test(lastUser!.i.args), `${target} USER ${lastUser!.i.args} is not root`);
    const lastRun = instructions.map((i, n) => ({ i, n })).filter(({ i }) => i.op === 'RUN').pop();
    assert.ok(!lastRun || lastRun.n < lastUser!.n, `${target}: nothing runs as root after USER`);
    assert.equal(JSON.parse(all(target, 'ENTRYPOINT').pop()!.args), ['/usr/bin/tini', '--'], `${target} ENTRYPOINT`);
    const flags = target === 'api' ? [...API_NODE_FLAGS] : [];
    assert.equal(JSON.parse(all(target, 'CMD').pop()!.args), ['node', ...flags, '--import', 'tsx', entry], `${target} CMD`);
    assert.ok(existsSync(`${ROOT}${entry.slice(0, entry.lastIndexOf('/'))}`), `the directory of ${entry} is copied into the image`);
    assert.ok(all(target, 'RUN').some((r) => /apt-get install[^&]*\btini\b/.test(r.args)), `${target} installs tini`);
  }
});

test('the worker image installs ffmpeg from apt; the others do not carry it', () => {
  assert.ok(all('worker', 'RUN').some((r) => /apt-get install[^&]*\bffmpeg\b/.test(r.args) && /rm -rf \/var\/lib\/apt\/lists/.test(r.args)), 'worker: apt-get install ffmpeg (and apt lists removed)');
  for (const t of ['api', 'reconciler']) assert.not.ok(all(t, 'RUN').some((r) => /ffmpeg/.test(r.args)), `${t} has no ffmpeg`);
});

test('health checks probe the port each process listens on', () => {
  const api = app.services.find((s) => s.name === 'api')!;
  const port = (api.manifest.image as Record<string, number>).port;
  assert.equal(all('api', 'EXPOSE').map((e) => e.args), [String(port)]);
  assert.match(all('api', 'HEALTHCHECK').pop()!.args, new RegExp(`"http://127\\.0\\.0\\.1:${port}/healthz"`));
  const rec = app.services.find((s) => s.name === 'reconciler')!;
  const probe = ((rec.manifest.image as Record<string, unknown>).healthcheck as { command: string[] }).command;
  assert.equal(probe.slice(0, 3), ['CMD', 'node', '/app/docker/healthcheck.mjs']);
  assert.match(all('reconciler', 'HEALTHCHECK').pop()!.args, new RegExp(`"${probe[3]!.replace(/\./g, '\\.')}"`), 'the Dockerfile and the manifest probe the same URL');
  assert.equal(all('worker', 'HEALTHCHECK'), [], 'the worker serves nothing to probe');
});

test('no secrets in the images, and every COPY source exists and is sent in the build context', () => {
  const ignore = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const must of ['**/.env', 'node_modules', '.git']) assert.ok(ignore.includes(must), `.dockerignore excludes ${must}`);
  for (const s of dockerfile.stages) {
    for (const i of s.instructions) {
      if (i.op === 'ENV' || i.op === 'ARG') assert.not.match(i.args, /SECRET|PASSWORD|TOKEN|API_KEY|CREDENTIAL|CONNECTION_STRING/i, `${s.name}: ${i.op} ${i.args}`);
      if (i.op !== 'COPY' || i.args.startsWith('--from=')) continue;
      const parts = i.args.split(' ').filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(`${ROOT}${src}`), `${s.name}: COPY source ${src} exists`);
        assert.not.ok(/(^|\/)\.env/.test(src), `${s.name}: copies no .env`);
        const top = src.split('/')[0]!;
        assert.not.ok(ignore.includes(top) || ignore.includes(src), `${s.name}: ${src} is excluded by .dockerignore`);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// docker/healthcheck.mjs, for real

function probe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${ROOT}docker/healthcheck.mjs`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('healthcheck.mjs exits 0 on 2xx and 1 on an error status, a hang, a closed port or a remote URL', async () => {
  const { server, base } = await serve((req, res) => {
    if (req.url === '/healthz') res.end('ok');
    else if (req.url === '/sick') res.writeHead(503).end('no');
    // '/hang' never answers
  });
  try {
    // Independent probes run side by side (each is a node start-up).
    const [ok, sick, hang] = await Promise.all([probe([`${base}/healthz`]), probe([`${base}/sick`]), probe([`${base}/hang`, '300'])]);
    assert.is(ok.code, 0, ok.stderr);
    assert.is(sick.code, 1);
    assert.match(sick.stderr, /\/sick answered 503/);
    assert.is(hang.code, 1);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
  const [closed, remote, usage] = await Promise.all([probe([`${base}/healthz`]), probe(['http://example.com/healthz']), probe([])]);
  assert.is(closed.code, 1, 'the port is closed now');
  assert.is(remote.code, 1);
  assert.match(remote.stderr, /only http:\/\/127\.0\.0\.1/);
  assert.is(usage.code, 1);
  assert.match(usage.stderr, /usage:/);
});

test.run();
