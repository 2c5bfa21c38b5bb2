/**
 * One `@azure-rest/ai-inference` `ModelClient` per model deployment, built once and cached.
 *
 * Facts (reference/azure-ai-inference.md §1, §6, §7; reference/standin-pitfalls.md §3):
 * - the client's default API version (`2024-05-01-preview`) is retired: the version is always set explicitly;
 * - the SDK's own retries skip a 429 without `retry-after` and hide throttling from the router: `maxRetries: 0`;
 * - Foundry endpoints need the `https://cognitiveservices.azure.com/.default` scope (the client defaults to
 *   `https://ml.azure.com/.default`);
 * - over plain http every call throws unless `allowInsecureConnection` is set: it is set only for an http endpoint
 *   AND when the caller allowed it (dev stand-ins); production endpoints are https and keep TLS.
 * - the pipeline's bearer-token policy refuses any non-https URL outright, so for an allowed http stand-in with a
 *   `TokenCredential` it is replaced by {@link standInBearerPolicy} (dev only; never on https).
 * Every client carries the admission gate (admission-gate.ts) after signing: a request built during its call's
 * admission round trip waits there, and only there, for the answer.
 */
import createModelClient, { type ModelClient } from '@azure-rest/ai-inference';
import { isTokenCredential, type KeyCredential, type TokenCredential } from '@azure/core-auth';
import { admissionGatePolicy } from './admission-gate.ts';
import { isInsecureEndpoint, type ModelDeployment } from './model-deployment.ts';
import { standInBearerPolicy } from './stand-in-bearer-policy.ts';

/** Entra scope of Azure AI Foundry / Azure AI Services endpoints. */
export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** Settings shared by every client. */
export interface ModelClientSettings {
  credential: KeyCredential | TokenCredential;
  /** Default API version (a deployment may override it). */
  apiVersion: string;
  /** Allow http endpoints (dev stand-ins). */
  allowInsecureConnection: boolean;
  /** Entra scopes for a TokenCredential. @defaultValue [COGNITIVE_SERVICES_SCOPE] */
  scopes?: string[];
}

/** The client cache. */
export class ModelClients {
  private readonly clients = new Map<string, ModelClient>();
  constructor(private readonly settings: ModelClientSettings) {}

  /** The client of deployment `m` (keyed by its name), built on first use. */
  get(m: ModelDeployment): ModelClient {
    const hit = this.clients.get(m.name);
    if (hit) return hit;
    const insecure = this.settings.allowInsecureConnection && isInsecureEndpoint(m);
    const scopes = this.settings.scopes ?? [COGNITIVE_SERVICES_SCOPE];
    const client = createModelClient(m.endpoint, this.settings.credential, {
      apiVersion: m.apiVersion ?? this.settings.apiVersion,
      allowInsecureConnection: insecure,
      retryOptions: { maxRetries: 0 },
      credentials: { scopes },
    });
    if (insecure && isTokenCredential(this.settings.credential)) {
      client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
      client.pipeline.addPolicy(standInBearerPolicy(this.settings.credential, scopes), { phase: 'Sign' });
    }
    client.pipeline.addPolicy(admissionGatePolicy(), { afterPhase: 'Sign' });
    this.clients.set(m.name, client);
    return client;
  }

  /** Forgets every client (they hold no sockets of their own; the shared HTTP agent closes idle ones). */
  clear(): void {
    this.clients.clear();
  }
}
