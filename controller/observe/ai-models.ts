/**
 * Observer of the Azure AI model endpoints a desired state declares (`spec.azure.models`), observe only: each
 * endpoint is asked `GET /info` through `@azure-rest/ai-inference`'s ModelClient, with `?model=<declared model>`
 * on api-version 2025-04-01 (a Foundry endpoint serves many deployments; reference/azure-ai-inference.md §1),
 * and the `model_name` it answers is compared with the declared `model` by the diff. A 404 means the endpoint
 * does not serve that model (drift); an endpoint that cannot be reached or answers another error is that model's
 * `error` (status Error), never an exception.
 *
 * Facts kept from the worker's client (reference/azure-ai-inference.md §6–§7): the API version is always set
 * (the SDK default is retired), the SDK's retries are off (one probe per pass is enough; the next pass retries),
 * Entra scope `https://cognitiveservices.azure.com/.default`, and plain http only when the caller allows it
 * (dev stand-ins).
 */
import createModelClient, { isUnexpected } from '@azure-rest/ai-inference';
import type { KeyCredential, TokenCredential } from '@azure/core-auth';
import type { ModelSpec } from '../../services/platform/desired-state.ts';
import { errorMessage } from '../../services/platform/errors.ts';
import { redactUrl } from '../../services/platform/redact-url.ts';
import type { ObservedAiModel } from '../types.ts';

/** Entra scope of Azure AI Foundry endpoints. */
export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** Collaborators of {@link observeAiModels}. */
export interface AiModelObserverDeps {
  credential: KeyCredential | TokenCredential;
  /** Allow `http://` endpoints (dev stand-ins only; production endpoints are https). @defaultValue false */
  allowInsecureConnection?: boolean;
  /** Timeout of one `/info` call, ms. @defaultValue 10000 */
  timeoutMs?: number;
  /** API version of a model that pins none (AI_API_VERSION). @defaultValue '2025-04-01' */
  apiVersion?: '2025-04-01' | '2024-05-01-preview';
}

async function probe(m: ModelSpec, deps: AiModelObserverDeps): Promise<ObservedAiModel> {
  // Reported (drift report, CLI, logs) without userinfo or query string: both can carry credentials.
  const base = { name: m.name, endpoint: redactUrl(m.endpoint), declaredModel: m.model };
  const insecure = m.endpoint.startsWith('http://');
  if (insecure && deps.allowInsecureConnection !== true) return { ...base, error: `refusing plain http endpoint ${base.endpoint} (TLS required outside the dev profile)` };
  // Our own timer, cleared when the call ends: the SDK's `timeout` option left its timer running after a request that
  // failed early (connection refused), so `trendctl plan` waited out the whole timeout before it could exit.
  const controller = new AbortController();
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const apiVersion = m.apiVersion ?? deps.apiVersion ?? '2025-04-01';
    const client = createModelClient(m.endpoint, deps.credential, {
      apiVersion,
      allowInsecureConnection: insecure,
      retryOptions: { maxRetries: 0 },
      credentials: { scopes: [COGNITIVE_SERVICES_SCOPE] },
    });
    const res = await client.path('/info').get({
      // `model` selects the deployment on a multi-model (Foundry) endpoint; the 2024 preview version has no such parameter.
      ...(apiVersion === '2025-04-01' ? { queryParameters: { model: m.model } } : {}),
      abortSignal: controller.signal,
    });
    if (isUnexpected(res)) {
      // The body may be empty or not JSON (a proxy's 404): only an object's `error` is read.
      const body: unknown = res.body;
      const e = body && typeof body === 'object' ? ((body as { error?: unknown }).error as { code?: string; message?: string } | undefined) : undefined;
      const answer = `HTTP ${res.status}${e?.code ? ` ${e.code}` : ''}${e?.message ? `: ${e.message}` : ''}`;
      // 404: the endpoint answered but has no such deployment: that is drift (the model is not served), not an outage.
      if (res.status === '404') return { ...base, notServed: answer };
      return { ...base, error: `GET /info answered ${answer}` };
    }
    return { ...base, reportedModel: res.body.model_name, ...(res.body.model_provider_name ? { provider: res.body.model_provider_name } : {}) };
  } catch (err) {
    return { ...base, error: `GET /info failed: ${controller.signal.aborted ? errorMessage(controller.signal.reason) : errorMessage(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes every declared model (concurrently; a document declares a handful).
 * @returns one entry per model, in document order; never throws.
 */
export async function observeAiModels(models: readonly ModelSpec[], deps: AiModelObserverDeps): Promise<ObservedAiModel[]> {
  return Promise.all(models.map((m) => probe(m, deps)));
}
