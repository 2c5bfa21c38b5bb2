/**
 * Routing: which deployments may serve a task, in which order, and which of them are healthy now.
 *
 * The fallback chain of a request is every deployment whose `use` includes the task, cheapest first by the
 * request's own worst-case cost (prompt estimate × input price + `max_tokens` × output price, USD per 1M tokens
 * from the desired state), registry order breaking ties. Health is a {@link CircuitBreaker} per deployment;
 * remaining quota is judged by the caller through the shared limiter when it reserves.
 */
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.ts';
import { estimatePromptTokens, maxTokensFor, type ChatPrompt } from './chat-request.ts';
import type { ModelDeployment } from './model-deployment.ts';

/**
 * Worst-case USD of `prompt` on `m` (all of `max_tokens` spent).
 * @param promptTokens the prompt's estimate, when the caller already has it. @defaultValue estimatePromptTokens(prompt)
 */
export function worstCaseCostUsd(prompt: ChatPrompt, m: ModelDeployment, promptTokens: number = estimatePromptTokens(prompt)): number {
  return (promptTokens / 1e6) * m.pricePer1MTokens.input + (maxTokensFor(prompt, m) / 1e6) * m.pricePer1MTokens.output;
}

/** The router of one coordinator. */
export class ModelRouter {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly models: readonly ModelDeployment[],
    breaker: CircuitBreakerOptions = {},
    now: () => number = Date.now,
  ) {
    for (const m of models) this.breakers.set(m.name, new CircuitBreaker(breaker, now));
  }

  /**
   * The fallback chain for `prompt`: deployments serving its task, cheapest first. Empty when none serves it.
   * @param promptTokens the prompt's estimate, when the caller already has it. @defaultValue estimatePromptTokens(prompt)
   */
  chain(prompt: ChatPrompt, promptTokens: number = estimatePromptTokens(prompt)): ModelDeployment[] {
    return this.models
      .map((m, i) => ({ m, i, usd: worstCaseCostUsd(prompt, m, promptTokens) }))
      .filter(({ m }) => m.use.includes(prompt.task))
      .sort((a, b) => a.usd - b.usd || a.i - b.i)
      .map(({ m }) => m);
  }

  /** The breaker of deployment `name`. @throws Error for a name not in the registry (a programming error). */
  breaker(name: string): CircuitBreaker {
    const b = this.breakers.get(name);
    if (!b) throw new Error(`no circuit breaker for deployment "${name}"`);
    return b;
  }

  /** Every deployment's breaker state, for health endpoints and tests. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.state()]));
  }
}
