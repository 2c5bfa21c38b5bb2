import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadDesiredState, parseDesiredState, parseDurationMs, formatDurationMs } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/run-cli.ts';

/** A small valid document; tests change single lines so every expected line:column is easy to check by eye. */
const BASE = [
  'apiVersion: content-trends/v1', //                                                  1
  'kind: DesiredState', //                                                             2
  'metadata: { app: content-trends, environment: test }', //                          3
  'spec:', //                                                                          4
  '  management: { mode: enforce, interval: 30s }', //                                 5
  '  ecs:', //                                                                         6
  '    cluster: content-trends-test', //                                               7
  '    services:', //                                                                  8
  '      worker:', //                                                                  9
  '        autoscaling:', //                                                          10
  '          min: 1', //                                                              11
  '          max: 4', //                                                              12
  '          targetQueueDepthPerTask: 4', //                                          13
  '  azure:', //                                                                      14
  '    models:', //                                                                   15
  '      - name: vision', //                                                          16
  '        use: [vision]', //                                                         17
  '        endpoint: ${AI_ENDPOINT:-https://example.services.ai.azure.com/models}', // 18
  '        model: Llama-3.2-90B-Vision-Instruct', //                                  19
  '        quota: { requestsPerMinute: 60, tokensPerMinute: 60000 }', //              20
  '        pricePer1MTokens: { input: 2.04, output: 2.04 }', //                       21
  '      - name: text', //                                                            22
  '        use: [text]', //                                                           23
  '        endpoint: https://example.services.ai.azure.com/models', //                24
  '        model: DeepSeek-R1', //                                                    25
  '        quota: { requestsPerMinute: 30, tokensPerMinute: 60000 }', //              26
  '        pricePer1MTokens: { input: 1.35, output: 5.40 }', //                       27
  '  backups: { schedule: "0 3 * * *", retainDays: 7, include: [redis] }', //        28
];

/** BASE with line `n` (1-based) replaced by `lines` (none: deleted). */
function edit(n: number, ...lines: string[]): string {
  const copy = [...BASE];
  copy.splice(n - 1, 1, ...lines);
  return `${copy.join('\n')}\n`;
}

const FILE = 'desired-state/test.yml';

/** The rendered problems (`where: message`) of an invalid document. */
function problems(text: string, vars: Record<string, string> = {}): string[] {
  try {
    parseDesiredState(text, FILE, vars);
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.where}: ${p.message}`);
    throw e;
  }
  throw new Error('expected a ValidationError');
}

const real = suite('desired-state/*.yml');

for (const env of ['dev', 'staging', 'production']) {
  real(`${env}.yml validates, with defaults and interpolation applied`, async () => {
    const d = await loadDesiredState(`desired-state/${env}.yml`, {});
    assert.is(d.metadata.environment, env);
    assert.is(d.spec.ecs.cluster, `content-trends-${env}`);
    assert.equal(Object.keys(d.spec.ecs.services).sort(), ['api', 'reconciler', 'worker']);
    assert.is(d.spec.ecs.services.reconciler?.desiredCount, 1);
    assert.is(d.spec.ecs.services.worker?.autoscaling?.targetQueueDepthPerTask, 4);
    assert.is(d.spec.azure?.models[0]?.endpoint, `https://content-trends-${env}.services.ai.azure.com/models`);
    assert.is(d.spec.storage?.s3TempBucket?.name, `content-trends-${env}-temp`);
    // staging and production pin the GA version per model; dev leaves it to AI_API_VERSION (the schema fills nothing in).
    assert.ok(d.spec.azure?.models.every((m) => m.apiVersion === (env === 'dev' ? undefined : '2025-04-01')), JSON.stringify(d.spec.azure?.models.map((m) => m.apiVersion)));
  });
}

real('production uses BLUE_GREEN with a bake time for the api', async () => {
  const d = await loadDesiredState('desired-state/production.yml', {});
  assert.equal(d.spec.ecs.services.api?.deployment?.strategy, 'BLUE_GREEN');
  assert.ok((d.spec.ecs.services.api?.deployment?.bakeTimeMinutes ?? 0) > 0);
  assert.equal([d.spec.ecs.services.api?.autoscaling?.min, d.spec.ecs.services.api?.autoscaling?.max], [2, 20]);
});

real('a set variable replaces the default (the demo points the models at its emulator)', async () => {
  const d = await loadDesiredState('desired-state/dev.yml', { AI_FOUNDRY_ENDPOINT: 'http://127.0.0.1:4010/models', S3_TEMP_BUCKET: 'demo-bucket' });
  assert.ok(d.spec.azure?.models.every((m) => m.endpoint === 'http://127.0.0.1:4010/models'));
  assert.is(d.spec.storage?.s3TempBucket?.name, 'demo-bucket');
});

const broken = suite('broken documents: every problem at file:line:column and JSON path');

broken('the base document is valid (so each case below fails for its own reason)', () => {
  const d = parseDesiredState(edit(1, BASE[0]!), FILE, {});
  assert.is(d.spec.azure?.models[0]?.endpoint, 'https://example.services.ai.azure.com/models');
});

broken('bad YAML syntax: an unclosed quote, at the value it is in', () => {
  assert.equal(problems(edit(25, '        model: "DeepSeek-R1')), [`${FILE}:25:28 /spec/azure/models/1/model: YAML: Missing closing "quote`]);
});

broken('bad YAML syntax: a cascade is one problem, the first in the file, saying how many more errors follow', () => {
  assert.equal(problems(edit(9, '      worker: [')), [
    `${FILE}:11:11 /spec/ecs/services/worker/0/autoscaling: YAML: Block collections are not allowed within flow collections (5 more syntax errors after it may follow from this one)`,
  ]);
});

broken('an unknown key points at the key and lists the allowed ones', () => {
  assert.equal(problems(edit(12, '          max: 4', '          maximum: 8')), [
    `${FILE}:13:11 /spec/ecs/services/worker/autoscaling/maximum: unknown key "maximum" (allowed: min, max, targetCpuPercent, targetRequestsPerTarget, targetQueueDepthPerTask, scaleInCooldownSec, scaleOutCooldownSec, suspended)`,
  ]);
});

broken('wrong type points at the value', () => {
  assert.equal(problems(edit(12, '          max: four')), [`${FILE}:12:16 /spec/ecs/services/worker/autoscaling/max: must be integer`]);
});

broken('a value out of range', () => {
  assert.equal(problems(edit(11, '          min: -1')), [`${FILE}:11:16 /spec/ecs/services/worker/autoscaling/min: must be >= 0`]);
});

broken('min > max', () => {
  assert.equal(problems(edit(11, '          min: 5')), [`${FILE}:11:16 /spec/ecs/services/worker/autoscaling/min: min (5) must be <= max (4)`]);
});

broken('duplicate model name points at the second one', () => {
  assert.equal(problems(edit(22, '      - name: vision')), [
    `${FILE}:22:15 /spec/azure/models/1/name: duplicate model name "vision" (also at /spec/azure/models/0/name)`,
  ]);
});

broken('model endpoints: no credentials or query anywhere; outside dev https only and no loopback, private or link-local host', () => {
  const at = `${FILE}:18:19 /spec/azure/models/0/endpoint`;
  const endpointProblems = (endpoint: string, text = edit(18, '        endpoint: ${AI_ENDPOINT}')): string[] => problems(text, { AI_ENDPOINT: endpoint });
  assert.equal(endpointProblems('http://example.services.ai.azure.com/models'), [`${at}: must be https outside dev (environment test)`]);
  for (const host of ['169.254.169.254', '10.0.0.5', '127.0.0.1', '0x7f000001', '[::1]', '[fd00::1]', '[::ffff:192.168.1.1]', 'localhost', 'LOCALHOST.']) {
    const shown = new URL(`https://${host}/`).hostname; // as the URL parser normalises it: [::ffff:c0a8:101], localhost.
    assert.equal(endpointProblems(`https://${host}/models`), [`${at}: must not be localhost or a loopback, private or link-local address outside dev (got ${shown}): use the Foundry resource's host name`], host);
  }
  const secret = endpointProblems('https://admin:S3CR3T@example.services.ai.azure.com/models?api-key=S3CR3T-KEY');
  assert.equal(secret, [
    `${at}: must not carry a user name or password: the workers authenticate with AI_AUTH (an identity, or a key in dev)`,
    `${at}: must not carry a query string: an api-key there would be logged and reported; the API version is set by apiVersion / AI_API_VERSION`,
  ]);
  assert.not.match(secret.join('\n'), /S3CR3T/, 'the refusal does not repeat the secret');
  assert.equal(endpointProblems('https://example.services.ai.azure.com/models?#api-key=S3CR3T'), [
    `${at}: must not carry a query string: an api-key there would be logged and reported; the API version is set by apiVersion / AI_API_VERSION`,
    `${at}: must not carry a fragment (#…)`,
  ]);
  // dev: the local stand-ins are plain http on loopback; credentials are refused there too.
  const dev = (endpoint: string): string[] => {
    try {
      parseDesiredState(edit(3, 'metadata: { app: content-trends, environment: dev }').replace('${AI_ENDPOINT:-https://example.services.ai.azure.com/models}', endpoint), 'desired-state/dev.yml', {});
      return [];
    } catch (e) {
      if (e instanceof ValidationError) return e.problems.map((p) => p.message);
      throw e;
    }
  };
  assert.equal(dev('http://127.0.0.1:4010/models'), []);
  assert.equal(dev('http://u:p@127.0.0.1:4010/models'), ['must not carry a user name or password: the workers authenticate with AI_AUTH (an identity, or a key in dev)']);
  // A host name is not judged: Azure private endpoints resolve to private addresses by design.
  parseDesiredState(edit(18, '        endpoint: ${AI_ENDPOINT}'), FILE, { AI_ENDPOINT: 'https://content-trends.privatelink.services.ai.azure.com/models' });
});

broken('maxOutputTokens above the TPM quota: every call would be refused', () => {
  assert.equal(problems(edit(20, '        maxOutputTokens: 4096', '        quota: { requestsPerMinute: 60, tokensPerMinute: 1000 }')), [
    `${FILE}:20:26 /spec/azure/models/0/maxOutputTokens: 4096 is more than quota.tokensPerMinute (1000): a call reserves its prompt plus maxOutputTokens, so every call would be refused (request_exceeds_quota)`,
  ]);
});

broken('bad cron', () => {
  assert.equal(problems(edit(28, '  backups: { schedule: "0 25 * * *", retainDays: 7, include: [redis] }')), [
    `${FILE}:28:24 /spec/backups/schedule: invalid cron "0 25 * * *": 25 is a invalid expression for hour`,
  ]);
});

broken('bad duration', () => {
  assert.equal(problems(edit(5, '  management: { mode: enforce, interval: 5 minutes }')), [
    `${FILE}:5:42 /spec/management/interval: invalid duration "5 minutes": use Go syntax like 60s, 5m, 1h30m`,
  ]);
});

broken('an interval outside 5s..24h', () => {
  assert.equal(problems(edit(5, '  management: { mode: enforce, interval: 1s }')), [`${FILE}:5:42 /spec/management/interval: must be between 5s and 24h (got 1s)`]);
});

broken('empty file', () => {
  assert.equal(problems(''), [`${FILE}:1:1 /: the document is empty`]);
  assert.equal(problems('# only a comment\n\n'), [`${FILE}:1:1 /: the document is empty`]);
});

broken('unset variable without default, at its scalar (and no extra schema noise about the same value)', () => {
  assert.equal(problems(edit(18, '        endpoint: ${AI_ENDPOINT}')), [
    `${FILE}:18:19 /spec/azure/models/0/endpoint: variable AI_ENDPOINT is not set and "\${AI_ENDPOINT}" has no default (write \${AI_ENDPOINT:-default})`,
  ]);
  const ok = parseDesiredState(edit(18, '        endpoint: ${AI_ENDPOINT}'), FILE, { AI_ENDPOINT: 'https://x.services.ai.azure.com/models' });
  assert.is(ok.spec.azure?.models[0]?.endpoint, 'https://x.services.ai.azure.com/models');
});

broken('an enum lists its values', () => {
  assert.equal(problems(edit(5, '  management: { mode: auto, interval: 30s }')), [`${FILE}:5:23 /spec/management/mode: must be one of: enforce, observe`]);
});

broken('a missing required key points at its parent', () => {
  assert.equal(problems(edit(7)), [`${FILE}:7:5 /spec/ecs: missing required key "cluster"`]);
});

broken('desiredCount cannot be combined with autoscaling', () => {
  assert.equal(problems(edit(9, '      worker:', '        desiredCount: 2')), [
    `${FILE}:10:9 /spec/ecs/services/worker/desiredCount: cannot be combined with autoscaling: the count of an autoscaled service belongs to Application Auto Scaling`,
  ]);
});

broken('every use the pipeline calls must be served by a model', () => {
  assert.equal(problems(edit(17, '        use: [text]')), [`${FILE}:16:7 /spec/azure/models: no model serves use "vision"`]);
});

broken('duplicate keys are a YAML error', () => {
  assert.equal(problems(edit(7, '    cluster: content-trends-test', '    cluster: other')), [
    `${FILE}:8:5 /spec/ecs/cluster: YAML: duplicate key \`cluster\` (first at line 7); a key may appear once per mapping`,
  ]);
});

broken('a second YAML document in the file is named, with what to do', () => {
  const lines = problems(`${edit(7, '    cluster: content-trends-test')}\n---\nkind: Other\n`);
  assert.is(lines.length, 1);
  assert.match(lines[0]!, /^desired-state\/test\.yml:\d+:1 \/: YAML: a second YAML document starts here \(`---`\); this file must hold exactly one document/);
});

broken('a "billion laughs" document stops at the alias expansion limit, named at the alias', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f']]) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  const started = process.hrtime.bigint();
  assert.equal(problems(lines.join('\n')), [`${FILE}:3:8 /: YAML: more than 100 alias expansions (*b and the aliases inside it); write the values out instead`]);
  assert.ok(process.hrtime.bigint() - started < 5_000_000_000n, 'refused without expanding (9^7 nodes would take minutes)');
});

broken('an alias inside the node it names is a cycle, named at the alias', () => {
  assert.equal(problems('a: &x [1, *x]\n'), [`${FILE}:1:11 /: YAML: alias *x refers to a node that contains it (a cycle)`]);
});

broken('a binary file is refused as not text, with the position of the first bad byte', () => {
  assert.equal(problems('apiVersion: x\nki\u0000nd: y\n'), [`${FILE}:2:3 /: not a text file: a NUL byte here; a desired state is a UTF-8 YAML document`]);
  assert.equal(problems('\uFFFD\uFFFDELF'), [`${FILE}:1:1 /: not a text file: bytes that are not UTF-8 here; a desired state is a UTF-8 YAML document`]);
});

broken('all problems of a document are reported together, in source order', () => {
  const text = edit(11, '          min: 9').replace('interval: 30s', 'interval: soon').replace('"0 3 * * *"', '"* *"');
  assert.equal(problems(text), [
    `${FILE}:5:42 /spec/management/interval: invalid duration "soon": use Go syntax like 60s, 5m, 1h30m`,
    `${FILE}:11:16 /spec/ecs/services/worker/autoscaling/min: min (9) must be <= max (4)`,
    `${FILE}:28:24 /spec/backups/schedule: invalid cron "* *": expected 5 or 6 fields but got 2`,
  ]);
});

broken('the rendered error starts with one summary line', () => {
  try {
    parseDesiredState(edit(11, '          min: 5'), FILE, {});
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.is((e as ValidationError).code, 'invalid_desired_state');
    assert.match((e as ValidationError).render(), /^invalid desired state desired-state\/test\.yml \(1 problem\):\n {2}- desired-state\/test\.yml:11:16 /);
  }
});

broken('a missing file is a ValidationError naming it', async () => {
  try {
    await loadDesiredState('desired-state/nope.yml', {});
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.equal((e as ValidationError).render(), 'cannot read desired state desired-state/nope.yml (1 problem):\n  - desired-state/nope.yml: no such file (ENOENT)');
  }
});

const fileEnv = suite('desired-state/<env>.yml: metadata.environment must be <env>');
const fileEnvTmp: string[] = [];
fileEnv.after(() => {
  for (const d of fileEnvTmp) rmSync(d, { recursive: true, force: true });
});

/** Line 3 of BASE with another environment; its value starts at column 47. */
const envLine = (env: string): string => `metadata: { app: content-trends, environment: ${env} }`;

fileEnv('another environment in desired-state/<env>.yml is an error naming file, line:column, path, found and expected', () => {
  assert.equal(problems(edit(3, envLine('dev'))), [
    `${FILE}:3:47 /metadata/environment: is "dev" but the file test.yml is the desired state of environment "test" (desired-state/<env>.yml): expected "test"`,
  ]);
});

fileEnv('an absolute path counts (the manifests load /app/desired-state/${COPILOT_ENVIRONMENT_NAME}.yml); an interpolated value is compared', () => {
  const file = '/app/desired-state/staging.yml';
  assert.throws(() => parseDesiredState(edit(3, envLine('test')), file, {}), (e: unknown) =>
    e instanceof ValidationError && e.problems.map((p) => `${p.where}: ${p.message}`).join('\n') ===
      `${file}:3:47 /metadata/environment: is "test" but the file staging.yml is the desired state of environment "staging" (desired-state/<env>.yml): expected "staging"`);
  assert.is(parseDesiredState(edit(3, envLine('"${ENV}"')), file, { ENV: 'staging' }).metadata.environment, 'staging');
});

fileEnv('the problem joins the others, in source order', () => {
  assert.equal(problems(edit(3, envLine('dev')).replace('interval: 30s', 'interval: soon')), [
    `${FILE}:3:47 /metadata/environment: is "dev" but the file test.yml is the desired state of environment "test" (desired-state/<env>.yml): expected "test"`,
    `${FILE}:5:42 /spec/management/interval: invalid duration "soon": use Go syntax like 60s, 5m, 1h30m`,
  ]);
});

fileEnv('a value the schema refuses gets the schema\'s problem only', () => {
  const p = problems(edit(3, envLine('Test')));
  assert.is(p.length, 1, p.join('\n'));
  assert.match(p[0]!, new RegExp(`^${FILE}:3:47 /metadata/environment: must match pattern`));
});

fileEnv('file names outside the desired-state/<env>.yml pattern carry no expectation', () => {
  for (const file of ['staging.yml', 'fixtures/staging.yml', 'desired-state/staging.backup.yml', 'desired-state/staging.yaml', 'desired-state/Staging.yml']) {
    assert.is(parseDesiredState(edit(3, envLine('dev')), file, {}).metadata.environment, 'dev', file);
  }
});

fileEnv('trendctl validate: a copy of dev.yml saved as desired-state/staging.yml is exit 1 with the problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-file-env-'));
  fileEnvTmp.push(dir);
  mkdirSync(join(dir, 'desired-state'));
  const file = join(dir, 'desired-state', 'staging.yml');
  writeFileSync(file, readFileSync('desired-state/dev.yml', 'utf8'));
  const { code, out, err } = await runCli(['validate', '-f', file]);
  assert.is(code, 1, out);
  assert.is(out, '');
  assert.is(err, `invalid desired state ${file} (1 problem):\n  - ${file}:8:16 /metadata/environment: is "dev" but the file staging.yml is the desired state of environment "staging" (desired-state/<env>.yml): expected "staging"\n`);
  writeFileSync(join(dir, 'desired-state', 'dev.yml'), readFileSync('desired-state/dev.yml', 'utf8'));
  assert.is((await runCli(['validate', '-f', join(dir, 'desired-state', 'dev.yml')])).code, 0);
});

const syntax = suite('trendctl validate: one YAML syntax mistake is one problem, at the JSON path around it');
const syntaxTmp = mkdtempSync(join(tmpdir(), 'ct-yaml-syntax-'));
syntax.after(() => rmSync(syntaxTmp, { recursive: true, force: true }));

/** Runs `trendctl validate -f <tmp>/test.yml` on `text`; returns exit code and stderr with the file shown as FILE. */
async function validateCli(text: string): Promise<{ code: number; err: string }> {
  const file = join(syntaxTmp, 'test.yml');
  writeFileSync(file, text);
  const { code, out, err } = await runCli(['validate', '-f', file]);
  assert.is(out, '');
  return { code, err: err.split(file).join(FILE) };
}

/** What `trendctl validate` prints for a document with exactly one problem. */
const oneProblem = (line: string): string => `invalid desired state ${FILE} (1 problem):\n  - ${line}\n`;

syntax('an unclosed { of a flow mapping under /spec/ecs/services/<name>: at the flow mapping, where yaml finds it open', async () => {
  // Line 10 opens the mapping; yaml finds it still open at the next key, line 11 column 9.
  const { code, err } = await validateCli(edit(9, '      worker:', '        deployment: { strategy: ROLLING, maximumPercent: 200'));
  assert.is(code, 1);
  assert.is(err, oneProblem(`${FILE}:11:9 /spec/ecs/services/worker/deployment: YAML: Flow map in block collection must be sufficiently indented and end with a }`));
});

syntax('a tab indenting a key of a nested mapping: at the mapping the line is indented under', async () => {
  const { code, err } = await validateCli(edit(11, '\t  min: 1'));
  assert.is(code, 1);
  assert.is(err, oneProblem(`${FILE}:11:1 /spec/ecs/services/worker/autoscaling: YAML: Tabs are not allowed as indentation (7 more syntax errors after it may follow from this one)`));
});

syntax('a nested key indented one space less than its siblings: at their mapping', async () => {
  const { code, err } = await validateCli(edit(12, '         max: 4'));
  assert.is(code, 1);
  assert.is(err, oneProblem(`${FILE}:12:1 /spec/ecs/services/worker/autoscaling: YAML: All mapping items must start at the same column (2 more syntax errors after it may follow from this one)`));
});

syntax('an unterminated quoted string: at the value, where yaml finds the line end without the closing quote', async () => {
  const { code, err } = await validateCli(edit(7, '    cluster: "content-trends-test'));
  assert.is(code, 1);
  assert.is(err, oneProblem(`${FILE}:7:34 /spec/ecs/cluster: YAML: Missing closing "quote`));
});

syntax('a duplicate key before a syntax error is still listed; the syntax error is the last problem', async () => {
  const text = edit(7, '    cluster: a', '    cluster: b').replace('max: 4', 'max: "4');
  assert.equal(problems(text), [
    `${FILE}:8:5 /spec/ecs/cluster: YAML: duplicate key \`cluster\` (first at line 7); a key may appear once per mapping`,
    `${FILE}:13:18 /spec/ecs/services/worker/autoscaling/max: YAML: Missing closing "quote`,
  ]);
});

const durations = suite('parseDurationMs');

durations('Go-style durations', () => {
  const table: [string, number][] = [['60s', 60_000], ['5m', 300_000], ['1h30m', 5_400_000], ['250ms', 250], ['1.5h', 5_400_000], ['0', 0], ['2m30s', 150_000]];
  for (const [text, ms] of table) assert.is(parseDurationMs(text), ms, text);
});

durations('rejects what is not a duration', () => {
  for (const text of ['', '60', '5 m', 'm5', '1d', '1h 30m', '-5s', '5sec']) {
    assert.throws(() => parseDurationMs(text), (e: Error) => e.message === `invalid duration "${text}": use Go syntax like 60s, 5m, 1h30m or 250ms`, text);
  }
});

durations('formatDurationMs is the short form', () => {
  assert.is(formatDurationMs(90_000), '1m30s');
  assert.is(formatDurationMs(250), '250ms');
  assert.is(formatDurationMs(3_600_000), '1h');
});

real.run();
broken.run();
fileEnv.run();
syntax.run();
durations.run();
