/**
 * `trendctl lint`'s first check: the desired state's `metadata.environment` must be one of the Copilot
 * environments (`copilot/environments/<env>/manifest.yml`). Without it every service would be compared with
 * its base manifest alone (no `environments.<env>` override applies), and the result would look clean while
 * saying nothing about any real environment.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import type { CopilotApp } from '../../services/platform/copilot-manifests.ts';
import type { Problem } from '../../services/platform/errors.ts';
import type { YamlSource } from '../../services/platform/yaml-source.ts';

/**
 * Checks that the desired state's environment exists in the Copilot application.
 * @param source the desired-state YAML source (for the position of `metadata.environment`).
 * @param copilotDir how to name the application's directory in the message, e.g. `copilot` or `/tmp/x/copilot`.
 * @returns `undefined` when the environment exists, else one problem at
 *   `file:line:column /metadata/environment` naming the environment and listing those that exist (sorted).
 */
export function unknownEnvironmentProblem(desired: DesiredState, source: YamlSource, app: CopilotApp, copilotDir: string): Problem | undefined {
  const env = desired.metadata.environment;
  const names = app.environments.map((e) => e.name).sort();
  if (names.includes(env)) return undefined;
  return {
    where: source.where(['metadata', 'environment']),
    message: `no Copilot environment "${env}": ${copilotDir}/environments/ has ${names.length > 0 ? names.join(', ') : 'none'} (each <env>/manifest.yml)`,
  };
}
