/**
 * `trendctl validate -f FILE` (or DESIRED_STATE_FILE): parses, interpolates and validates a desired-state document.
 * Prints `ok: FILE` (so a check of the file named by the environment says which file it was), or
 * every problem as `file:line:column /json/pointer: message`. Exit 0 valid, 1 invalid.
 */
import { loadDesiredState } from '../../services/platform/desired-state.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import type { Command } from './command.ts';
import { interpolationVars } from './runtime.ts';

/** The `validate` command. */
export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a desired-state document (YAML, interpolation, JSON Schema, semantic rules)',
  options: [{ name: 'file', short: 'f', type: 'string', help: 'desired-state YAML file', env: 'DESIRED_STATE_FILE' }],
  async run(ctx) {
    const file = ctx.options.file;
    if (typeof file !== 'string') {
      ctx.stderr.write('trendctl validate: -f FILE is required\n');
      return 1;
    }
    try {
      await loadDesiredState(file, interpolationVars(ctx.env));
      ctx.stdout.write(`ok: ${file}\n`);
      return 0;
    } catch (err) {
      if (err instanceof ValidationError) {
        ctx.stderr.write(`${err.render()}\n`);
        return 1;
      }
      throw err;
    }
  },
};
