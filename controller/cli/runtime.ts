/**
 * What the `trendctl` commands share: configuration with the CLI's relaxations, and the interpolation
 * variables. The CLI loads the reconciler role's configuration but does not need Redis for `plan`, `apply` or
 * `validate` (only `report` reads Redis), and takes the desired-state file from `-f` rather than from
 * DESIRED_STATE_FILE, so those two requirements are satisfied here instead of demanded from the user.
 */
import { loadConfig, type Config } from '../../services/platform/config.ts';
import type { CommandContext } from './command.ts';

/**
 * Placeholder for REDIS_URL when a command does not use Redis: never connected to (`.invalid` is reserved,
 * RFC 2606); `rediss://` so it also passes the staging / production TLS rule.
 */
const UNUSED_REDIS_URL = 'rediss://redis-not-used.invalid:6379';

/** The environment as plain strings (unset values dropped), for `${VAR}` interpolation. */
export function interpolationVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Loads the reconciler configuration for a CLI command.
 * @param file the desired-state file from `-f` (stands in for DESIRED_STATE_FILE).
 * @param needsRedis when false, REDIS_URL may be unset.
 * @throws ValidationError listing every configuration problem.
 */
export function cliConfig(ctx: CommandContext, file: string | undefined, needsRedis: boolean): Config {
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  if (file !== undefined) env.DESIRED_STATE_FILE = file;
  else if (!env.DESIRED_STATE_FILE) env.DESIRED_STATE_FILE = '(not used)';
  if (!needsRedis && !env.REDIS_URL) env.REDIS_URL = UNUSED_REDIS_URL;
  return loadConfig('reconciler', env);
}
