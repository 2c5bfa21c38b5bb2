/**
 * Coordinator options from the runtime configuration, so every process derives them the same way:
 * `AI_API_VERSION`, `AI_TIMEOUT_MS`, `AI_CACHE_TTL_SEC` (response-cache entry lifetime, s; 0: off), `REDIS_KEY_PREFIX`, the credential from `AI_AUTH` and its settings
 * (credentials.ts `createModelCredentialFromConfig`), the tenants' daily budgets (`AI_DAILY_BUDGET_USD`,
 * `AI_TENANT_DAILY_BUDGETS_USD`: budgets-from-config.ts), and
 * `allowInsecureConnection` only in the `dev` profile (staging and production keep TLS: DESIGN.md §10).
 */
import type { Redis } from 'ioredis';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { AiCoordinatorOptions } from './coordinator.ts';
import { createModelCredentialFromConfig, type CredentialConfig } from '../platform/model-credentials.ts';
import type { ModelDeployment } from './model-deployment.ts';
import { dailyBudgetsFromConfig, type BudgetConfig } from './budgets-from-config.ts';

/** The configuration fields the coordinator reads. */
export type AiConfig = Pick<Config, 'AI_API_VERSION' | 'AI_TIMEOUT_MS' | 'AI_CACHE_TTL_SEC' | 'REDIS_KEY_PREFIX'> & CredentialConfig & BudgetConfig;

/**
 * @param models the registry (desired state `spec.azure.models`).
 * @param extra anything else to set (retry budget, breaker, cache TTL, limits), or `credential` when the process already
 *   made it from the same configuration (the worker shares it with its Blob client); otherwise one is made here.
 * @throws ValidationError from the credential (a key outside dev, a missing key, workload identity not configured) or
 *   the budgets (a malformed `AI_TENANT_DAILY_BUDGETS_USD`).
 */
export function aiCoordinatorOptionsFromConfig(
  config: AiConfig,
  models: ModelDeployment[],
  redis: Redis,
  logger?: Logger,
  extra: Partial<Omit<AiCoordinatorOptions, 'models' | 'redis' | 'keyPrefix'>> = {},
): AiCoordinatorOptions {
  const dailyBudgetUsd = dailyBudgetsFromConfig(config);
  return {
    models,
    redis,
    credential: extra.credential ?? createModelCredentialFromConfig(config),
    keyPrefix: config.REDIS_KEY_PREFIX,
    apiVersion: config.AI_API_VERSION,
    timeoutMs: config.AI_TIMEOUT_MS,
    cacheTtlSec: config.AI_CACHE_TTL_SEC,
    allowInsecureConnection: config.APP_PROFILE === 'dev',
    ...(dailyBudgetUsd ? { dailyBudgetUsd } : {}),
    ...(logger ? { logger } : {}),
    ...extra,
  };
}
