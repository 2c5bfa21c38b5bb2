/**
 * The model registry as the AI coordinator sees it: one {@link ModelDeployment} per model deployment in the
 * desired state (`spec.azure.models[]`). The shape is structurally compatible with the desired-state types, so
 * the worker passes those entries straight in.
 *
 * Wire facts (reference/azure-ai-inference.md §1): a Foundry endpoint is `https://<resource>.services.ai.azure.com/models`
 * and picks the deployment from the body's `model` field; a serverless endpoint serves one model and ignores it.
 */
import { ValidationError, type Problem } from '../platform/errors.ts';

/** What a deployment can be used for. `reasoning` marks a model that thinks before answering (DeepSeek-R1). */
export type ModelUse = 'vision' | 'text' | 'reasoning';

/** The two kinds of call the coordinator routes: image description and JSON generation. */
export type ModelTask = 'vision' | 'text';

/** The API versions the Azure AI Model Inference API defines (reference/azure-ai-inference.md §1). */
export const KNOWN_API_VERSIONS: readonly string[] = ['2025-04-01', '2024-05-01-preview'];

/** One model deployment of the registry. */
export interface ModelDeployment {
  /** Registry name, unique; appears in records, logs and Redis keys (`[A-Za-z0-9_.-]`, at most 64 characters). */
  name: string;
  /** Tasks it serves; routing picks deployments whose `use` includes the task. */
  use: ModelUse[];
  /** Base URL given to `ModelClient`, e.g. `https://res.services.ai.azure.com/models`. https unless a dev stand-in. */
  endpoint: string;
  /** Model / deployment id sent as the body's `model` field. */
  model: string;
  /** Overrides the coordinator's API version for this deployment. */
  apiVersion?: string;
  /** The model emits reasoning (`<think>` in content or `reasoning_content`); it is stripped and sampling knobs are not sent. */
  reasoning?: boolean;
  /** Upper bound on `max_tokens` for this model (tokens). */
  maxOutputTokens?: number;
  /** The deployment's allocation, enforced client-side across replicas: requests and tokens per minute. */
  quota: { requestsPerMinute: number; tokensPerMinute: number };
  /** USD per 1,000,000 tokens (prices live in configuration: reference/azure-ai-inference.md §10). */
  pricePer1MTokens: { input: number; output: number };
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function positive(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

function nonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/**
 * Checks the registry before any client is built.
 * @param models the deployments, in registry order.
 * @param allowInsecureConnection whether `http:` endpoints are allowed (dev stand-ins only).
 * @param where prefix of each problem's location, e.g. `models` → `models[1].endpoint`.
 * @throws ValidationError listing every problem with its location.
 */
export function validateDeployments(models: readonly ModelDeployment[], allowInsecureConnection: boolean, where = 'models'): void {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  if (models.length === 0) problems.push({ where, message: 'must list at least one model deployment' });
  models.forEach((m, i) => {
    const at = `${where}[${i}]`;
    if (typeof m.name !== 'string' || !NAME.test(m.name)) problems.push({ where: `${at}.name`, message: 'must match [A-Za-z0-9_.-]{1,64}' });
    else if (seen.has(m.name)) problems.push({ where: `${at}.name`, message: `duplicates the deployment name "${m.name}"` });
    else seen.add(m.name);
    if (!Array.isArray(m.use) || m.use.length === 0 || m.use.some((u) => u !== 'vision' && u !== 'text' && u !== 'reasoning')) {
      problems.push({ where: `${at}.use`, message: 'must be a non-empty list of vision, text, reasoning' });
    }
    if (typeof m.model !== 'string' || m.model.length === 0) problems.push({ where: `${at}.model`, message: 'must be a non-empty string' });
    let url: URL | undefined;
    try {
      url = new URL(m.endpoint);
    } catch {
      problems.push({ where: `${at}.endpoint`, message: 'must be an absolute URL' });
    }
    if (url && url.protocol !== 'https:') {
      if (url.protocol !== 'http:') problems.push({ where: `${at}.endpoint`, message: 'must be an https URL' });
      else if (!allowInsecureConnection) problems.push({ where: `${at}.endpoint`, message: 'is http: allowed only with allowInsecureConnection (dev stand-ins); production endpoints must be https' });
    }
    if (url && (url.username || url.password)) problems.push({ where: `${at}.endpoint`, message: 'must not carry credentials' });
    if (m.apiVersion !== undefined && !KNOWN_API_VERSIONS.includes(m.apiVersion)) {
      problems.push({ where: `${at}.apiVersion`, message: `must be one of ${KNOWN_API_VERSIONS.join(', ')}` });
    }
    if (m.maxOutputTokens !== undefined && !(Number.isInteger(m.maxOutputTokens) && m.maxOutputTokens > 0)) {
      problems.push({ where: `${at}.maxOutputTokens`, message: 'must be a positive integer' });
    }
    if (!m.quota || !positive(m.quota.requestsPerMinute)) problems.push({ where: `${at}.quota.requestsPerMinute`, message: 'must be > 0' });
    if (!m.quota || !positive(m.quota.tokensPerMinute)) problems.push({ where: `${at}.quota.tokensPerMinute`, message: 'must be > 0' });
    if (!m.pricePer1MTokens || !nonNegative(m.pricePer1MTokens.input)) problems.push({ where: `${at}.pricePer1MTokens.input`, message: 'must be a number >= 0 (USD per 1M tokens)' });
    if (!m.pricePer1MTokens || !nonNegative(m.pricePer1MTokens.output)) problems.push({ where: `${at}.pricePer1MTokens.output`, message: 'must be a number >= 0 (USD per 1M tokens)' });
  });
  if (problems.length > 0) {
    throw new ValidationError(`invalid model registry (${problems.length} problem${problems.length === 1 ? '' : 's'}):`, problems, 'invalid_model_registry');
  }
}

/** Whether a deployment's endpoint is plain http (a dev stand-in). */
export function isInsecureEndpoint(m: ModelDeployment): boolean {
  return new URL(m.endpoint).protocol === 'http:';
}
