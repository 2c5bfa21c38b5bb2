/**
 * The credential the reconciler's models observer sends to Azure AI endpoints: the same one the worker uses,
 * from services/platform/model-credentials.ts (AI_AUTH `key` in dev, managed identity, workload identity, or an
 * AWS-issued web identity token exchanged with Entra). Nothing here logs the key.
 */
import { createModelCredentialFromConfig, type CredentialConfig } from '../../services/platform/model-credentials.ts';
import type { Config } from '../../services/platform/config.ts';
import type { AiModelObserverDeps } from '../observe/ai-models.ts';

/**
 * Whether the reconciler observes the declared model endpoints with this configuration: RECONCILE_AI_MODELS
 * `on`/`off`, or `auto` = on unless the dev profile has no usable credential (AI_AUTH `key` without a key, or
 * the default managed identity, which a developer machine does not have).
 */
export function observesModels(config: Pick<Config, 'RECONCILE_AI_MODELS' | 'APP_PROFILE' | 'AI_AUTH' | 'AZURE_AI_API_KEY'>): boolean {
  if (config.RECONCILE_AI_MODELS !== 'auto') return config.RECONCILE_AI_MODELS === 'on';
  if (config.APP_PROFILE !== 'dev') return true;
  return config.AI_AUTH === 'key' && config.AZURE_AI_API_KEY !== undefined;
}

/**
 * The models observer's settings from configuration, or `undefined` when models are not observed
 * ({@link observesModels}). Plain http endpoints are allowed in the dev profile only; one probe times out after the
 * observer's 10 s (AI_TIMEOUT_MS is sized for minute-long model answers, not for `GET /info`); models that pin no
 * API version are probed with AI_API_VERSION.
 * @throws ValidationError from createModelCredentialFromConfig (missing key or identity settings).
 */
export function aiModelObserverFromConfig(
  config: CredentialConfig & Pick<Config, 'RECONCILE_AI_MODELS' | 'AI_API_VERSION'>,
): AiModelObserverDeps | undefined {
  if (!observesModels(config)) return undefined;
  // The /info probe keeps the observer's own 10 s timeout: AI_TIMEOUT_MS is sized for minute-long reasoning answers.
  return { credential: createModelCredentialFromConfig(config), allowInsecureConnection: config.APP_PROFILE === 'dev', apiVersion: config.AI_API_VERSION };
}
