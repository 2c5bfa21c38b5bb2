/**
 * Drift of the declared Azure AI model endpoints (observe only: the reconciler cannot redeploy a Foundry model):
 * an endpoint whose `GET /info` names another model than the document declares is drift with action `none`.
 * Endpoints that could not be observed give no drift; the report shows them as Error.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { redactUrl } from '../../services/platform/redact-url.ts';
import type { Drift, ObservedAiModel } from '../types.ts';

/** The `service` scope of model resources in reports. */
export const AI_SCOPE = 'azure';

/** Report resource id of a declared model. */
export function aiModelResource(name: string): string {
  return `ai-model/${name}`;
}

/** Drift of the models, in document order. */
export function aiModelDrifts(desired: DesiredState, observed: readonly ObservedAiModel[] | undefined): Drift[] {
  if (!observed) return [];
  const out: Drift[] = [];
  (desired.spec.azure?.models ?? []).forEach((m, i) => {
    const seen = observed.find((o) => o.name === m.name);
    if (!seen || seen.error !== undefined || seen.reportedModel === m.model) return;
    out.push({
      resource: aiModelResource(m.name), kind: 'ai-model', service: AI_SCOPE, path: `/spec/azure/models/${i}/model`, field: 'model_name',
      desired: m.model, actual: seen.reportedModel ?? null, action: 'none',
      reason: seen.notServed !== undefined
        ? `observe only: ${redactUrl(m.endpoint)} does not serve ${m.model} (GET /info answered ${seen.notServed}); deploy the model in Azure AI Foundry or fix the document`
        : `observe only: ${redactUrl(m.endpoint)} serves ${seen.reportedModel ?? 'no model'} for this deployment, desired ${m.model}; redeploy the model in Azure AI Foundry or fix the document`,
    });
  });
  return out;
}
