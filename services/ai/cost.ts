/**
 * Token → USD arithmetic. Prices are USD per 1,000,000 tokens, taken from the desired state (never from code);
 * reference/azure-ai-inference.md §10 lists the mid-2025 Azure AI Foundry pay-as-you-go figures they come from.
 */
import type { ModelDeployment } from './model-deployment.ts';

/**
 * Cost of one call: `promptTokens / 1e6 × input + completionTokens / 1e6 × output`, in USD, rounded to
 * 1e-12 USD so sums of the same calls always agree.
 * @param prices USD per 1M tokens.
 * @param promptTokens tokens billed as input (`usage.prompt_tokens`).
 * @param completionTokens tokens billed as output (`usage.completion_tokens`, reasoning included).
 */
export function costUsd(prices: ModelDeployment['pricePer1MTokens'], promptTokens: number, completionTokens: number): number {
  const usd = (promptTokens / 1e6) * prices.input + (completionTokens / 1e6) * prices.output;
  return Math.round(usd * 1e12) / 1e12;
}
