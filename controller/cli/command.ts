/**
 * The shape of a `trendctl` command (ecspresso's habit: each verb in its own file with its options declared
 * once, with help, default and environment variable) and the option parser built on `node:util` parseArgs.
 */
import { parseArgs } from 'node:util';
import { ValidationError } from '../../services/platform/errors.ts';

/** One command-line option. */
export interface OptionSpec {
  /** Long name, used as `--name`. */
  name: string;
  /** One-letter alias, used as `-x`. */
  short?: string;
  type: 'string' | 'boolean';
  /** One line of help. */
  help: string;
  /** Value when the option is absent (after `env`). */
  default?: string | boolean;
  /** Environment variable (a runtime-config name) used when the option is absent. */
  env?: string;
}

/** Parsed option values by long name. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** What a command gets to run with. Commands never read `process` themselves. */
export interface CommandContext {
  options: OptionValues;
  /** Environment for `loadConfig` and desired-state interpolation (the entry point passes `process.env`). */
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stdout is a terminal (colour on). */
  isTTY: boolean;
}

/** A `trendctl` verb. */
export interface Command {
  name: string;
  /** One line for `trendctl help`. */
  summary: string;
  options: readonly OptionSpec[];
  /** @returns the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/**
 * Parses `argv` (the arguments after the command name) against a command's options, then applies each
 * option's environment variable and default.
 * @throws ValidationError naming the unknown option, missing value or stray argument.
 */
export function parseOptions(command: Command, argv: readonly string[], env: NodeJS.ProcessEnv): OptionValues {
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const o of command.options) spec[o.name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args: [...argv], options: spec, allowPositionals: false, strict: true });
    values = parsed.values as Record<string, string | boolean | undefined>;
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/\. To specify a positional argument.*$/s, '') : String(err);
    throw new ValidationError(`${message} (see trendctl ${command.name} --help)`, [{ where: 'argv', message }], 'invalid_arguments');
  }
  const out: OptionValues = {};
  for (const o of command.options) {
    const fromEnv = o.env !== undefined && env[o.env] !== undefined && env[o.env] !== '' ? env[o.env] : undefined;
    out[o.name] = values[o.name] ?? fromEnv ?? o.default;
  }
  return out;
}

/** `--help` text of a command, generated from its option declarations. */
export function helpText(command: Command): string {
  const lines = [`trendctl ${command.name}: ${command.summary}`, '', 'Options:'];
  for (const o of command.options) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'string' ? ' VALUE' : ''}`;
    const extra = [o.env ? `env ${o.env}` : '', o.default !== undefined ? `default ${String(o.default)}` : ''].filter(Boolean).join('; ');
    lines.push(`  ${flag.padEnd(24)} ${o.help}${extra ? ` (${extra})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
