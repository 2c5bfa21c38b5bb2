/**
 * `trendctl lint -f desired-state/<env>.yml [--copilot-dir DIR]`: validates the document, then lists every
 * contradiction with the Copilot manifests of its environment (`lint/manifest-contradictions.ts`), each as
 * `desired file:line:column /pointer ↔ manifest file:line:column /pointer: message`. Exit 0 clean, 1 problems
 * (or an invalid document, unreadable manifests, or an environment that `copilot/environments/` lacks:
 * `lint/environment.ts`).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { loadCopilotApp } from '../../services/platform/copilot-manifests.ts';
import { parseYamlSource } from '../../services/platform/yaml-source.ts';
import { lintAgainstManifests } from '../lint/manifest-contradictions.ts';
import { unknownEnvironmentProblem } from '../lint/environment.ts';
import type { Command } from './command.ts';
import { interpolationVars } from './runtime.ts';

/** The `lint` command. */
export const lintCommand: Command = {
  name: 'lint',
  summary: 'find contradictions between a desired state and the Copilot manifests of its environment (exit 0 clean, 1 problems)',
  options: [
    { name: 'file', short: 'f', type: 'string', help: 'desired-state YAML file', env: 'DESIRED_STATE_FILE' },
    { name: 'copilot-dir', type: 'string', help: 'project root holding copilot/', default: '.' },
  ],
  async run(ctx) {
    const file = ctx.options.file;
    const root = String(ctx.options['copilot-dir']);
    if (typeof file !== 'string') {
      ctx.stderr.write('trendctl lint: -f FILE is required\n');
      return 1;
    }
    try {
      const text = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new ValidationError(`cannot read desired state ${file}`, [{ where: file, message: err instanceof Error ? err.message : String(err) }]);
      });
      const vars = interpolationVars(ctx.env);
      const desired = parseDesiredState(text, file, vars);
      const app = loadCopilotApp(root);
      if (app.problems.length > 0) throw new ValidationError(`cannot read the Copilot manifests under ${resolve(root)}:`, app.problems);
      if (app.services.length === 0) throw new ValidationError(`no Copilot services under ${resolve(root)}`, [{ where: `${root}/copilot`, message: 'no <service>/manifest.yml found' }]);
      const source = parseYamlSource(text, file);
      const copilotDir = root === '.' ? 'copilot' : join(root, 'copilot');
      const unknownEnv = unknownEnvironmentProblem(desired, source, app, copilotDir);
      if (unknownEnv) throw new ValidationError(`cannot lint ${file}: its environment has no Copilot environment manifest`, [unknownEnv]);
      const findings = lintAgainstManifests(desired, source, app, vars);
      // Manifest paths under the root as the user gave it, like the desired-state file's.
      const rel = (w: string): string => (root === '.' ? w : w.replace(/^copilot\//, `${copilotDir}/`));
      for (const f of findings) ctx.stdout.write(`${f.desired} ↔ ${rel(f.manifest)}: ${f.message}\n`);
      const n = findings.length;
      (n === 0 ? ctx.stdout : ctx.stderr).write(n === 0 ? `ok: ${file} agrees with the Copilot manifests (environment ${desired.metadata.environment})\n` : `${n} contradiction${n === 1 ? '' : 's'} between ${file} and the Copilot manifests (environment ${desired.metadata.environment})\n`);
      return n === 0 ? 0 : 1;
    } catch (err) {
      if (err instanceof ValidationError) {
        ctx.stderr.write(`${err.render()}\n`);
        return 1;
      }
      throw err;
    }
  },
};
