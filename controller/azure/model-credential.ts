/**
 * The credential the reconciler's models observer sends to Azure AI endpoints, from runtime configuration:
 * AI_AUTH `key` → `AzureKeyCredential(AZURE_AI_API_KEY)` (the config schema allows it in the dev profile only),
 * `managed-identity` → `ManagedIdentityCredential`, `workload-identity` → `WorkloadIdentityCredential` (the SDK
 * reads AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_FEDERATED_TOKEN_FILE itself). Same mapping as the worker's
 * services/ai/credentials.ts, built here because controller/ may not import services/ internals.
 * Nothing here logs the key.
 */
import { AzureKeyCredential, type KeyCredential, type TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { ValidationError } from '../../services/platform/errors.ts';
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
 * Builds the credential.
 * @throws ValidationError when AI_AUTH is `key` and AZURE_AI_API_KEY is unset, or workload identity is not
 *   configured (naming the settings).
 */
export function createAiCredential(config: Pick<Config, 'AI_AUTH' | 'AZURE_AI_API_KEY'>): KeyCredential | TokenCredential {
  switch (config.AI_AUTH) {
    case 'key':
      if (!config.AZURE_AI_API_KEY) throw new ValidationError('model credential refused:', [{ where: 'AZURE_AI_API_KEY', message: 'is required when AI_AUTH is "key"' }]);
      return new AzureKeyCredential(config.AZURE_AI_API_KEY);
    case 'managed-identity':
      return new ManagedIdentityCredential();
    case 'workload-identity':
      try {
        return new WorkloadIdentityCredential();
      } catch (err) {
        throw new ValidationError('workload identity is not configured:', [
          { where: 'AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE', message: (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'missing' },
        ]);
      }
    default:
      throw new ValidationError('model credential refused:', [{ where: 'AI_AUTH', message: `unknown value ${String(config.AI_AUTH)}` }]);
  }
}

/**
 * The models observer's settings from configuration, or `undefined` when models are not observed
 * ({@link observesModels}). Plain http endpoints are allowed in the dev profile only; one probe times out after
 * AI_TIMEOUT_MS.
 * @throws ValidationError from {@link createAiCredential}.
 */
export function aiModelObserverFromConfig(
  config: Pick<Config, 'RECONCILE_AI_MODELS' | 'APP_PROFILE' | 'AI_AUTH' | 'AZURE_AI_API_KEY' | 'AI_TIMEOUT_MS'>,
): AiModelObserverDeps | undefined {
  if (!observesModels(config)) return undefined;
  return { credential: createAiCredential(config), allowInsecureConnection: config.APP_PROFILE === 'dev', timeoutMs: config.AI_TIMEOUT_MS };
}
