/**
 * Credentials for model calls (reference/azure-ai-inference.md §7, §8):
 * - `key`: an `AzureKeyCredential` (sent as `api-key` and `Authorization: Bearer`), dev profile only;
 * - `managed-identity`: `ManagedIdentityCredential` (App Service / Container Apps / IMDS; not on ECS Fargate);
 * - `workload-identity`: `WorkloadIdentityCredential` (reads AZURE_TENANT_ID, AZURE_CLIENT_ID and
 *   AZURE_FEDERATED_TOKEN_FILE itself: the SDK, not our code, reads those variables);
 * - `client-assertion`: `ClientAssertionCredential` fed by a token-source function, the hook for an AWS-issued
 *   web identity token (STS GetWebIdentityToken, audience `api://AzureADTokenExchange`) exchanged at Entra
 *   through a federated identity credential; no secret is stored anywhere. `AI_AUTH=aws-web-identity` builds it
 *   from configuration with the STS source of aws-web-identity.ts.
 * Nothing here logs a key, a token or an assertion.
 */
import { AzureKeyCredential, type KeyCredential, type TokenCredential } from '@azure/core-auth';
import {
  ClientAssertionCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type ClientAssertionCredentialOptions,
  type TokenCredentialOptions,
  type WorkloadIdentityCredentialOptions,
} from '@azure/identity';
import type { STSClientConfig } from '@aws-sdk/client-sts';
import { decodeJwt } from 'jose';
import { ValidationError } from './errors.ts';
import type { Config, Profile } from './config.ts';
import { awsWebIdentityTokenSource, createStsClient } from './aws-web-identity.ts';

/** A function returning a fresh external JWT (for example from AWS STS GetWebIdentityToken). */
export type AssertionSource = () => Promise<string>;

/** How model calls authenticate. */
export type ModelCredentialConfig =
  | { kind: 'key'; profile: Profile; apiKey: string }
  | { kind: 'managed-identity'; /** user-assigned identity's client id */ clientId?: string; options?: TokenCredentialOptions }
  | { kind: 'workload-identity'; options?: WorkloadIdentityCredentialOptions }
  | { kind: 'client-assertion'; tenantId: string; clientId: string; getAssertion: AssertionSource; options?: ClientAssertionCredentialOptions };

/**
 * Builds the credential described by `c`.
 * @throws ValidationError when a key is used outside the dev profile, the key / ids are empty, or workload identity
 *   lacks its tenant, client id or federated token file.
 */
export function createModelCredential(c: ModelCredentialConfig): KeyCredential | TokenCredential {
  switch (c.kind) {
    case 'key':
      if (c.profile !== 'dev') {
        throw new ValidationError('model credential refused:', [{ where: 'AI_AUTH', message: `"key" is allowed only in the dev profile (profile is ${c.profile}); use managed-identity or workload-identity` }]);
      }
      if (typeof c.apiKey !== 'string' || c.apiKey.length === 0) {
        throw new ValidationError('model credential refused:', [{ where: 'AZURE_AI_API_KEY', message: 'is required when AI_AUTH is "key"' }]);
      }
      return new AzureKeyCredential(c.apiKey);
    case 'managed-identity':
      return c.clientId ? new ManagedIdentityCredential({ ...c.options, clientId: c.clientId }) : new ManagedIdentityCredential(c.options ?? {});
    case 'workload-identity':
      try {
        return new WorkloadIdentityCredential(c.options ?? {});
      } catch (err) {
        // The SDK refuses construction when the tenant, client id or token file is missing: say which settings.
        throw new ValidationError('workload identity is not configured:', [
          { where: 'AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE', message: (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'missing' },
        ]);
      }
    case 'client-assertion':
      return createClientAssertionCredential(c.tenantId, c.clientId, c.getAssertion, c.options);
  }
}

/** The configuration fields the credential reads; the federation fields matter only in their modes. */
export type CredentialConfig = Pick<Config, 'AI_AUTH' | 'AZURE_AI_API_KEY' | 'APP_PROFILE'> &
  Partial<
    Pick<
      Config,
      | 'AZURE_TENANT_ID'
      | 'AZURE_CLIENT_ID'
      | 'AZURE_FEDERATED_TOKEN_FILE'
      | 'AZURE_AUTHORITY_HOST'
      | 'AWS_REGION'
      | 'STS_ENDPOINT'
      | 'AWS_WEB_IDENTITY_AUDIENCE'
      | 'AWS_WEB_IDENTITY_TOKEN_DURATION_SEC'
    >
  >;

/** Client settings that are not configuration (tests point them at stand-ins; production passes none). */
export interface CredentialOverrides {
  /** Extra STS client settings (e.g. `credentials`). */
  sts?: Partial<STSClientConfig>;
  /** Extra identity options for client-assertion and workload identity (e.g. an `httpClient`). */
  identity?: ClientAssertionCredentialOptions;
}

/**
 * The credential for the runtime configuration: `AI_AUTH`
 * - `key`: `AZURE_AI_API_KEY`, dev profile only;
 * - `managed-identity`;
 * - `workload-identity`: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE` (from config when set,
 *   else the SDK reads the same variables), `AZURE_AUTHORITY_HOST`;
 * - `aws-web-identity`: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_AUTHORITY_HOST`, and an STS client for
 *   `AWS_REGION` / `STS_ENDPOINT` asking `AWS_WEB_IDENTITY_AUDIENCE` for `AWS_WEB_IDENTITY_TOKEN_DURATION_SEC`.
 * @throws ValidationError as {@link createModelCredential}; for aws-web-identity when the tenant, client id or
 *   region is missing.
 */
export function createModelCredentialFromConfig(config: CredentialConfig, overrides: CredentialOverrides = {}): KeyCredential | TokenCredential {
  const authority = config.AZURE_AUTHORITY_HOST ? { authorityHost: config.AZURE_AUTHORITY_HOST } : {};
  if (config.AI_AUTH === 'key') return createModelCredential({ kind: 'key', profile: config.APP_PROFILE, apiKey: config.AZURE_AI_API_KEY ?? '' });
  if (config.AI_AUTH === 'workload-identity') {
    const options: WorkloadIdentityCredentialOptions = {
      ...overrides.identity,
      ...authority,
      ...(config.AZURE_TENANT_ID ? { tenantId: config.AZURE_TENANT_ID } : {}),
      ...(config.AZURE_CLIENT_ID ? { clientId: config.AZURE_CLIENT_ID } : {}),
      ...(config.AZURE_FEDERATED_TOKEN_FILE ? { tokenFilePath: config.AZURE_FEDERATED_TOKEN_FILE } : {}),
    };
    return createModelCredential({ kind: 'workload-identity', options });
  }
  if (config.AI_AUTH === 'aws-web-identity') {
    const problems = [
      ...(config.AZURE_TENANT_ID ? [] : [{ where: 'AZURE_TENANT_ID', message: 'is required when AI_AUTH is "aws-web-identity"' }]),
      ...(config.AZURE_CLIENT_ID ? [] : [{ where: 'AZURE_CLIENT_ID', message: 'is required when AI_AUTH is "aws-web-identity"' }]),
      ...(config.AWS_REGION ? [] : [{ where: 'AWS_REGION', message: 'is required when AI_AUTH is "aws-web-identity" (GetWebIdentityToken needs a regional STS endpoint)' }]),
    ];
    if (problems.length > 0) throw new ValidationError('AWS web identity federation is not configured:', problems);
    const sts = createStsClient(config.AWS_REGION ?? '', config.STS_ENDPOINT, overrides.sts);
    const source = awsWebIdentityTokenSource({
      sts,
      ...(config.AWS_WEB_IDENTITY_AUDIENCE ? { audience: config.AWS_WEB_IDENTITY_AUDIENCE } : {}),
      ...(config.AWS_WEB_IDENTITY_TOKEN_DURATION_SEC ? { durationSeconds: config.AWS_WEB_IDENTITY_TOKEN_DURATION_SEC } : {}),
    });
    return createModelCredential({
      kind: 'client-assertion',
      tenantId: config.AZURE_TENANT_ID ?? '',
      clientId: config.AZURE_CLIENT_ID ?? '',
      getAssertion: source,
      options: { ...authority, ...overrides.identity },
    });
  }
  return createModelCredential({ kind: 'managed-identity' });
}

/**
 * A `ClientAssertionCredential` whose assertion comes from `source`, cached until 60 s before the JWT's `exp`
 * (or for `fallbackTtlMs` when it has none) so Entra token refreshes do not call the source every time.
 * @param tenantId Entra tenant id.
 * @param clientId app registration or user-assigned identity holding the federated identity credential.
 * @param source returns the external JWT; its errors surface from `getToken`.
 * @throws ValidationError when the ids are empty.
 */
export function createClientAssertionCredential(
  tenantId: string,
  clientId: string,
  source: AssertionSource,
  options?: ClientAssertionCredentialOptions,
  fallbackTtlMs = 300_000,
): TokenCredential {
  const problems = [
    ...(tenantId ? [] : [{ where: 'tenantId', message: 'must be a non-empty Entra tenant id' }]),
    ...(clientId ? [] : [{ where: 'clientId', message: 'must be a non-empty client id' }]),
  ];
  if (problems.length > 0) throw new ValidationError('client-assertion credential refused:', problems);
  return new ClientAssertionCredential(tenantId, clientId, cachedAssertion(source, fallbackTtlMs), options ?? {});
}

/**
 * Wraps `source` so its JWT is reused until 60 s before its `exp` claim (or `fallbackTtlMs` ms when it has no
 * readable `exp`). Concurrent callers share one pending fetch.
 */
export function cachedAssertion(source: AssertionSource, fallbackTtlMs = 300_000): AssertionSource {
  let value: string | undefined;
  let validUntilMs = 0;
  let pending: Promise<string> | undefined;
  return async () => {
    if (value !== undefined && Date.now() < validUntilMs) return value;
    pending ??= (async () => {
      try {
        const jwt = await source();
        let exp: number | undefined;
        try {
          const claims = decodeJwt(jwt);
          exp = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
        } catch {
          exp = undefined;
        }
        value = jwt;
        validUntilMs = exp !== undefined ? exp - 60_000 : Date.now() + fallbackTtlMs;
        return jwt;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}
