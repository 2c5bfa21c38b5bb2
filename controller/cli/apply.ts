/**
 * `trendctl apply -f FILE [--dry-run] [--json]`: corrects drift (enforce mode only) and prints each write with
 * `before → after` and its outcome. Exit 0 all in sync, 2 drift left (observe mode, not correctable, dry run,
 * deferred), 1 error (a failed write or observation).
 */
import type { Command } from './command.ts';

/** The `apply` command. */
export const applyCommand: Command = {
  name: 'apply',
  summary: 'correct drift in enforce mode and print what changed (exit 0 synced, 2 drift left, 1 error)',
  options: [
    { name: 'file', short: 'f', type: 'string', help: 'desired-state YAML file', env: 'DESIRED_STATE_FILE' },
    { name: 'dry-run', type: 'boolean', help: 'plan the writes but send none (RECONCILE_DRY_RUN=true does the same)', default: false },
    { name: 'json', type: 'boolean', help: 'print the report as JSON', default: false },
  ],
  run: async (ctx) => (await import('./run-pass.ts')).runPass(ctx, 'apply', 'apply'),
};
