/**
 * docs/api-errors.md lists every error code a client can see: the codes of the errors the services raise
 * (`new TerminalError('code'`, `new TransientError('code'`, a `QuotaExceededError`'s code argument) and every
 * `BadVideoCode` of services/media/bad-video-error.ts. A code added in the source without a line in the doc fails here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every .ts file under `dir`. */
async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

test('every error code raised in services/ is documented in docs/api-errors.md', async () => {
  const doc = await readFile('docs/api-errors.md', 'utf8');
  const codes = new Map<string, string>();
  for (const file of await sources('services')) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/new (?:TerminalError|TransientError|BadVideoError)\(\s*'([a-z_]+)'/g)) codes.set(m[1]!, file);
    for (const m of text.matchAll(/new QuotaExceededError\([^;]*?'([a-z_]+)'\s*\)/g)) codes.set(m[1]!, file);
  }
  const union = /export type BadVideoCode =([^;]+);/.exec(await readFile('services/media/bad-video-error.ts', 'utf8'));
  assert.ok(union, 'BadVideoCode union found');
  for (const m of union[1]!.matchAll(/'([a-z_]+)'/g)) codes.set(m[1]!, 'services/media/bad-video-error.ts');
  assert.ok(codes.size >= 20, `found only ${codes.size} codes: the scan is broken`);
  const missing = [...codes].filter(([code]) => !doc.includes(`\`${code}\``)).map(([code, file]) => `${code} (${file})`);
  assert.equal(missing, [], `not in docs/api-errors.md: ${missing.join(', ')}`);
});

test.run();
