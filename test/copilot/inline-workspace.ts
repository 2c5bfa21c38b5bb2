/**
 * Test helpers: a throw-away Copilot workspace written from inline file texts, and positions of text in them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Problem } from '../../services/platform/errors.ts';
import { loadCopilotApp, validateCopilotApp } from '../../services/platform/copilot-manifests.ts';

/** An imported-VPC environment manifest that is valid. */
export function validEnvironment(name: string): string {
  return [
    `name: ${name}`,
    'type: Environment',
    'network:',
    '  vpc:',
    '    id: vpc-0123456789abcdef0',
    '    subnets:',
    '      public: [{ id: subnet-0a000001 }, { id: subnet-0a000002 }]',
    '      private: [{ id: subnet-0b000001 }, { id: subnet-0b000002 }]',
    'http:',
    '  public:',
    '    certificates: [arn:aws:acm:eu-west-1:111111111111:certificate/0000-1111]',
    '',
  ].join('\n');
}

/**
 * Writes `files` (path relative to the root → text) under a fresh temp dir with a `.workspace` and the given
 * environments, loads and validates it, and deletes the dir in every outcome.
 */
export function validateInline(files: Record<string, string>, environments: readonly string[] = ['dev']): Problem[] {
  const root = mkdtempSync(join(tmpdir(), 'copilot-inline-'));
  try {
    const all: Record<string, string> = { 'copilot/.workspace': 'application: demo\n' };
    for (const env of environments) all[`copilot/environments/${env}/manifest.yml`] = validEnvironment(env);
    Object.assign(all, files);
    for (const [path, text] of Object.entries(all)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return validateCopilotApp(loadCopilotApp(root));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `line:column` (1-based) of the `nth` occurrence (0-based) of `needle` in `text`, moved `skip` characters right
 * (to point past `key: ` at a value).
 * @throws Error when the needle does not occur that often.
 */
export function positionOf(text: string, needle: string, skip = 0, nth = 0): string {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`"${needle}" occurs fewer than ${nth + 1} times`);
  }
  at += skip;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `${line}:${column}`;
}

/** `path: message` lines, for assertion messages. */
export function render(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.where}: ${p.message}`).join('\n') || '(no problems)';
}
