/**
 * `trendctl`: the reconciler's command line. This file is the list of commands and the entry point: it parses
 * the command name, hands `process.env` and the standard streams to the command (commands never touch
 * `process`), and exits with the command's code: 0 ok / in sync, 2 drift, 1 error, 130 interrupted.
 *
 * Usage: `trendctl <validate|lint|plan|apply|report|help> [options]`; `trendctl <command> --help`.
 */
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../../services/platform/errors.ts';
import { helpText, parseOptions, type Command } from './command.ts';
import { validateCommand } from './validate.ts';
import { planCommand } from './plan.ts';
import { applyCommand } from './apply.ts';
import { reportCommand } from './report.ts';
import { lintCommand } from './lint.ts';

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [validateCommand, lintCommand, planCommand, applyCommand, reportCommand];

function usage(): string {
  const lines = ['usage: trendctl <command> [options]', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `trendctl <command> --help` for its options. Exit codes: 0 ok, 2 drift, 1 error.');
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `trendctl` with `argv` (without node and script).
 * @returns the exit code.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; isTTY: boolean }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`trendctl: unknown command "${name}"\n${usage()}`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(helpText(command));
    return 0;
  }
  try {
    const options = parseOptions(command, rest, env);
    return await command.run({ options, env, ...io });
  } catch (err) {
    io.stderr.write(`trendctl ${name}: ${errorMessage(err)}\n`);
    return 1;
  }
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  process.once('SIGINT', () => {
    process.stderr.write('trendctl: interrupted\n');
    process.exit(130);
  });
  const code = await main(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr, isTTY: process.stdout.isTTY === true });
  process.exitCode = code;
}
