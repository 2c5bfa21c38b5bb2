import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countFailed, parseSummary } from '../support/uvu-summary.ts';

// A real uvu file with 1 passing, 1 failing and 2 skipped tests, run the way test/run.ts runs files.
const dir = mkdtempSync(join(process.cwd(), 'test', '.tmp-runner-'));
const file = join(dir, 'mixed.test.ts');
writeFileSync(file, [
  "import { test } from 'uvu';",
  "import * as assert from 'uvu/assert';",
  "test('passes', () => assert.ok(true));",
  "test('fails', () => assert.is(1, 2));",
  "test.skip('skipped one', () => undefined);",
  "test.skip('skipped two', () => undefined);",
  'test.run();',
].join('\n'));

test('a failing test is counted as failed even when the file also skips tests', () => {
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const s = parseSummary(r.stdout + r.stderr);
  assert.ok(s, 'uvu printed a summary');
  assert.equal(s, { total: 2, passed: 1, skipped: 2 });
  assert.is(countFailed(s!), 1);
  assert.is.not(r.status, 0);
});

test('colour codes and several summaries: the last one counts', () => {
  const out = '\u001b[1m  Total:     3\n  Passed:    3\n  Skipped:   0\n...\n  Total:     5\n  Passed:    4\n  Skipped:   1\n';
  assert.equal(parseSummary(out), { total: 5, passed: 4, skipped: 1 });
  assert.is(parseSummary('no summary here'), undefined);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
