/**
 * `trendctl lint`: contradictions between desired state and the Copilot manifests, each with file:line:column on
 * both sides. The real files agree (exit 0); broken copies (written to a temp dir, the repo untouched) show every
 * rule: service on one side only, min/max vs count.range, desired max above the range, fixed count vs range,
 * cpu / memory, exec flag (exit 1).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from '../support/run-cli.ts';

function lint(args: string[]): Promise<CliRun> {
  return runCli(['lint', ...args]);
}

/** 1-based line of the `nth` occurrence of `needle` in `text`. */
function lineOf(text: string, needle: string, nth = 1): number {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`"${needle}" not found`);
  }
  return text.slice(0, at).split('\n').length;
}

function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const next = text.replace(from, to);
  if (next === text) throw new Error(`pattern ${String(from)} not found`);
  return next;
}

const tmp: string[] = [];
const cases = suite('trendctl lint');

cases.after(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

cases('the repository\'s desired states agree with its manifests: exit 0 for every environment', async () => {
  for (const env of ['dev', 'staging', 'production']) {
    const r = await lint(['-f', `desired-state/${env}.yml`]);
    assert.is(r.code, 0, `${env}: ${r.out}${r.err}`);
    assert.match(r.out, `ok: desired-state/${env}.yml agrees with the Copilot manifests (environment ${env})`);
  }
});

cases('broken copies: every contradiction with file:line:column on both sides, exit 1', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ct-lint-'));
  tmp.push(root);
  cpSync('copilot', join(root, 'copilot'), { recursive: true });
  const desiredFile = join(root, 'dev.yml');

  let desired = readFileSync('desired-state/dev.yml', 'utf8');
  desired = replaceOnce(desired, /(worker:\n\s+autoscaling:\n\s+min: )1(\n\s+max: )4/, '$12$29'); // min 2 (range 1-4), max 9 (above it)
  desired = replaceOnce(desired, 'enableExecuteCommand: true\n        taskDefinition: { cpu: 512, memory: 1024 }', 'enableExecuteCommand: false\n        taskDefinition: { cpu: 512, memory: 2048 }'); // api
  desired = replaceOnce(desired, '      reconciler:\n', '      indexer:\n        desiredCount: 1\n      reconciler:\n');
  writeFileSync(desiredFile, desired);

  const apiFile = join(root, 'copilot/api/manifest.yml');
  const api = replaceOnce(readFileSync(apiFile, 'utf8'), 'cpu: 512 ', 'cpu: 1024');
  writeFileSync(apiFile, api);
  const reconcilerFile = join(root, 'copilot/reconciler/manifest.yml');
  const reconciler = replaceOnce(readFileSync(reconcilerFile, 'utf8'), /^count: 1 /m, 'count:\n  range: 1-2\n ');
  writeFileSync(reconcilerFile, reconciler);
  mkdirSync(join(root, 'copilot/thumbnailer'));
  writeFileSync(join(root, 'copilot/thumbnailer/manifest.yml'), 'name: thumbnailer\ntype: Backend Service\nimage:\n  location: public.ecr.aws/x/y:1\ncpu: 256\nmemory: 512\n');

  const r = await lint(['-f', desiredFile, '--copilot-dir', root]);
  assert.is(r.code, 1, r.err);
  const lines = r.out.trim().split('\n');
  const d = (needle: string, nth = 1): string => `${desiredFile}:${lineOf(desired, needle, nth)}:`;
  const workerMin = lineOf(desired, 'min: 2');
  const expected: [string, RegExp][] = [
    [`${desiredFile}:${lineOf(desired, 'services:', 1)}:`, /copilot\/thumbnailer\/manifest\.yml:1:\d+ \/name: service "thumbnailer" has a Copilot manifest but is not in the desired state/],
    [d('enableExecuteCommand: false'), new RegExp(`copilot/api/manifest.yml:${lineOf(api, 'exec: true')}:\\d+ /environments/dev/exec: api: enableExecuteCommand false differs from the manifest's exec true`)],
    [d('taskDefinition: { cpu: 512'), new RegExp(`copilot/api/manifest.yml:${lineOf(api, 'cpu: 1024')}:\\d+ /cpu: api: taskDefinition.cpu 512 differs from the manifest's cpu 1024`)],
    [d('taskDefinition: { cpu: 512'), new RegExp(`copilot/api/manifest.yml:${lineOf(api, 'memory: 1024')}:\\d+ /memory: api: taskDefinition.memory 2048 differs from the manifest's memory 1024`)],
    [`${desiredFile}:${workerMin}:`, new RegExp(`copilot/worker/manifest.yml:\\d+:\\d+ /count/range: worker: autoscaling min 2 differs from the manifest's count.range min 1`)],
    [`${desiredFile}:${workerMin + 1}:`, /copilot\/worker\/manifest\.yml:\d+:\d+ \/count\/range: worker: desired max 9 is above the manifest's count\.range \(1-4\); the next copilot svc deploy sets it back to 4/],
    [d('indexer:'), /copilot\/indexer\/manifest\.yml \(missing\): service "indexer" is in the desired state but has no Copilot manifest/],
    [d('desiredCount: 1', 2), new RegExp(`copilot/reconciler/manifest.yml:${lineOf(reconciler, 'range: 1-2')}:\\d+ /count/range: reconciler: the desired state sets a fixed desiredCount 1 but the manifest autoscales \\(1-2\\)`)],
  ];
  for (const [where, what] of expected) {
    assert.ok(lines.some((l) => l.startsWith(where) && what.test(l)), `missing: ${where} … ${String(what)}\ngot:\n${r.out}`);
  }
  assert.is(lines.length, expected.length, r.out);
  assert.match(r.err, `${expected.length} contradictions between ${desiredFile}`);
});

cases('fixed count in the manifest vs a range in the desired state; an invalid document is exit 1 with its problems', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ct-lint-'));
  tmp.push(root);
  cpSync('copilot', join(root, 'copilot'), { recursive: true });
  const workerFile = join(root, 'copilot/worker/manifest.yml');
  const worker = replaceOnce(readFileSync(workerFile, 'utf8'), /^count:[^\n]*\n  range: \{ min: 1, max: 4 \}\n  cpu_percentage: 70\n  cooldown: \{ in: 120s, out: 60s \}\n/m, 'count: 2\n');
  writeFileSync(workerFile, worker);
  const r = await lint(['-f', 'desired-state/dev.yml', '--copilot-dir', root]);
  assert.is(r.code, 1);
  assert.match(r.out, new RegExp(`desired-state/dev.yml:\\d+:\\d+ /spec/ecs/services/worker/autoscaling ↔ .*copilot/worker/manifest.yml:${lineOf(worker, 'count: 2')}:8 /count: worker: the desired state autoscales \\(1-4\\) but the manifest sets a fixed count 2`));

  const bad = join(root, 'bad.yml');
  writeFileSync(bad, readFileSync('desired-state/dev.yml', 'utf8').replace('max: 4', 'max: four'));
  const b = await lint(['-f', bad, '--copilot-dir', root]);
  assert.is(b.code, 1);
  assert.match(b.err, new RegExp(`${bad}:\\d+:\\d+ /spec/ecs/services/worker/autoscaling/max`));
});

cases('an environment that copilot/environments/ lacks is exit 1 naming it and the ones that exist (not a lint of the base manifests)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ct-lint-'));
  tmp.push(root);
  const qa = join(root, 'qa.yml');
  writeFileSync(qa, replaceOnce(readFileSync('desired-state/dev.yml', 'utf8'), '  environment: dev\n', '  environment: qa\n'));
  const r = await lint(['-f', qa]);
  assert.is(r.code, 1, r.out);
  assert.is(r.out, '');
  assert.is(r.err, `cannot lint ${qa}: its environment has no Copilot environment manifest\n  - ${qa}:8:16 /metadata/environment: no Copilot environment "qa": copilot/environments/ has dev, production, staging (each <env>/manifest.yml)\n`);

  cpSync('copilot', join(root, 'copilot'), { recursive: true });
  rmSync(join(root, 'copilot/environments/staging'), { recursive: true });
  const s = await lint(['-f', 'desired-state/staging.yml', '--copilot-dir', root]);
  assert.is(s.code, 1, s.out);
  assert.is(s.err, `cannot lint desired-state/staging.yml: its environment has no Copilot environment manifest\n  - desired-state/staging.yml:8:16 /metadata/environment: no Copilot environment "staging": ${join(root, 'copilot')}/environments/ has dev, production (each <env>/manifest.yml)\n`);
});

cases.run();
