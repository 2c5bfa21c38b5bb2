/**
 * Public surface of the AI coordinator for the worker and the API: the contract (types.ts), the factory, the
 * credential helpers, the registry type and the usage ledger's read side. Everything else in services/ai is
 * internal machinery.
 */
export type { AiCoordinator, CallContext, DescribeImageRequest, GenerateJsonRequest, JsonResult, TextResult } from './types.ts';
export { createAiCoordinator, type AiCoordinatorOptions, type AiCoordinatorInsights } from './coordinator.ts';
export { aiCoordinatorOptionsFromConfig, type AiConfig } from './options-from-config.ts';
export {
  createModelCredential,
  createModelCredentialFromConfig,
  createClientAssertionCredential,
  cachedAssertion,
  type ModelCredentialConfig,
  type AssertionSource,
  type CredentialConfig,
  type CredentialOverrides,
} from '../platform/model-credentials.ts';
export { awsWebIdentityTokenSource, createStsClient, AZURE_TOKEN_EXCHANGE_AUDIENCE, type AwsWebIdentityOptions } from '../platform/aws-web-identity.ts';
export { AiMetrics, aiMetricsFor } from './metrics.ts';
export { validateDeployments, KNOWN_API_VERSIONS, type ModelDeployment, type ModelUse, type ModelTask } from './model-deployment.ts';
export { costUsd } from './cost.ts';
export { utcDay, type UsageLedger, type UsageSummary, type ModelUsage } from './usage-ledger.ts';
export type { RetryOptions } from './retry-policy.ts';
export type { CircuitBreakerOptions, BreakerState } from './circuit-breaker.ts';
export type { RequestLimits } from './request-limits.ts';
