/** `trendctl plan -f FILE [--json]`: shows drift, writes nothing. Exit 0 no drift, 2 drift, 1 error. */
import type { Command } from './command.ts';

/** The `plan` command. */
export const planCommand: Command = {
  name: 'plan',
  summary: 'compare live ECS / Application Auto Scaling with the desired state; write nothing (exit 0 none, 2 drift, 1 error)',
  options: [
    { name: 'file', short: 'f', type: 'string', help: 'desired-state YAML file', env: 'DESIRED_STATE_FILE' },
    { name: 'json', type: 'boolean', help: 'print the report as JSON (schemas/drift-report.schema.json)', default: false },
  ],
  // Loaded on use: the AWS SDK alone takes most of the CLI's start-up time, and `validate` does not need it.
  run: async (ctx) => (await import('./run-pass.ts')).runPass(ctx, 'plan', 'plan'),
};
