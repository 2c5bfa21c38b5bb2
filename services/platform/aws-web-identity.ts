/**
 * An AWS-issued web identity JWT as the client assertion of an Entra `ClientAssertionCredential`: ECS tasks reach
 * Azure AI with no stored secret (reference/azure-ai-inference.md §8, "AWS IAM outbound identity federation").
 *
 * Facts (same section; AWS STS API reference `GetWebIdentityToken`): the call needs a **regional** STS endpoint
 * (the global one does not offer it) and `sts:GetWebIdentityToken` on the task role; parameters `Audience` (1-10;
 * Entra's federated identity credentials use `api://AzureADTokenExchange`), `SigningAlgorithm` (`RS256` or `ES384`;
 * RS256 for Entra, ES384 acceptance by Entra is unverified) and `DurationSeconds` 60-3600 (default 300); the
 * answer carries `WebIdentityToken` (a signed JWT) and `Expiration`. `@aws-sdk/client-sts` ≥ 3.1177 has
 * `GetWebIdentityTokenCommand` (query protocol). The JWT is cached by credentials.ts `cachedAssertion` until
 * 60 s before its `exp`. Nothing here logs the JWT.
 */
import { GetWebIdentityTokenCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import type { AssertionSource } from './model-credentials.ts';

/** Audience Entra expects in federated identity credentials. */
export const AZURE_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** What to ask STS for. */
export interface AwsWebIdentityOptions {
  /** The STS client (regional endpoint; the task role's credentials). */
  sts: STSClient;
  /** JWT audience. @defaultValue {@link AZURE_TOKEN_EXCHANGE_AUDIENCE} */
  audience?: string;
  /** Lifetime asked for, seconds (60-3600). @defaultValue 300 */
  durationSeconds?: number;
  /** @defaultValue 'RS256' */
  signingAlgorithm?: 'RS256' | 'ES384';
}

/**
 * A token source calling STS `GetWebIdentityToken` on every call (wrap it in `cachedAssertion`, as
 * `createClientAssertionCredential` does).
 * @throws Error (from the returned function) when STS refuses (its error name and message, e.g.
 *   `OutboundWebIdentityFederationDisabledException`) or answers without a token.
 */
export function awsWebIdentityTokenSource(o: AwsWebIdentityOptions): AssertionSource {
  const input = {
    Audience: [o.audience ?? AZURE_TOKEN_EXCHANGE_AUDIENCE],
    SigningAlgorithm: o.signingAlgorithm ?? 'RS256',
    DurationSeconds: Math.min(3600, Math.max(60, Math.round(o.durationSeconds ?? 300))),
  };
  return async () => {
    const out = await o.sts.send(new GetWebIdentityTokenCommand(input));
    if (typeof out.WebIdentityToken !== 'string' || out.WebIdentityToken.length === 0) {
      throw new Error('AWS STS GetWebIdentityToken answered without a WebIdentityToken');
    }
    return out.WebIdentityToken;
  };
}

/**
 * The STS client for `region`, with `endpoint` overriding the regional endpoint (a stand-in in tests; https
 * outside dev, which the config schema enforces). AWS credentials come from the SDK's default chain (the ECS task
 * role) unless `extra.credentials` says otherwise.
 */
export function createStsClient(region: string, endpoint?: string, extra: Partial<STSClientConfig> = {}): STSClient {
  return new STSClient({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 3, ...extra });
}
