/**
 * The rule that ties a desired-state file to its environment by name: `desired-state/<env>.yml` is the document
 * of environment `<env>`. The Copilot manifests load `/app/desired-state/${COPILOT_ENVIRONMENT_NAME}.yml`
 * (`copilot/worker/manifest.yml`, `copilot/reconciler/manifest.yml`), so a `staging.yml` saying
 * `environment: dev` would make the staging reconciler manage dev's services and tags.
 *
 * The rule applies only to files named like that: directory `desired-state`, base name `<env>.yml` with `<env>`
 * a valid environment name (the schema's `definitions/name`). Any other file name (a temp copy, a test fixture,
 * `desired-state/dev.backup.yml`) carries no expectation.
 */
import { basename, dirname } from 'node:path';
import type { Finding } from './schema-errors.ts';

/** Directory holding one document per environment. */
export const DESIRED_STATE_DIR = 'desired-state';

/** `<env>.yml`, `<env>` following the schema's name rule (`^[a-z][a-z0-9-]{0,62}$`). */
const ENV_FILE = /^([a-z][a-z0-9-]{0,62})\.yml$/;

/** JSON pointer of the value this rule checks. */
export const ENVIRONMENT_POINTER = '/metadata/environment';

/**
 * The environment a file name stands for.
 * @param file a path as the user gave it, relative or absolute (`desired-state/dev.yml`, `/app/desired-state/dev.yml`).
 * @returns `<env>` of `…/desired-state/<env>.yml`, else `undefined`.
 */
export function environmentOfFile(file: string): string | undefined {
  if (basename(dirname(file)) !== DESIRED_STATE_DIR) return undefined;
  return ENV_FILE.exec(basename(file))?.[1];
}

/**
 * Checks `metadata.environment` against the file name.
 * @param data the interpolated document (any shape: the schema may have failed).
 * @param file the file name used in problem locations.
 * @returns one finding at `/metadata/environment` naming the value found and the one expected, or none (the file
 *   name follows no pattern, the value agrees, or it is not a string: the schema reports that).
 */
export function fileEnvironmentFindings(data: unknown, file: string): Finding[] {
  const expected = environmentOfFile(file);
  if (expected === undefined) return [];
  const metadata = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).metadata : undefined;
  const found = metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, unknown>).environment : undefined;
  if (typeof found !== 'string' || found === expected) return [];
  return [{
    pointer: ENVIRONMENT_POINTER,
    at: 'value',
    message: `is "${found}" but the file ${basename(file)} is the desired state of environment "${expected}" (${DESIRED_STATE_DIR}/<env>.yml): expected "${expected}"`,
  }];
}
