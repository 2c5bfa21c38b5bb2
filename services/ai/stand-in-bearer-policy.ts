/**
 * A bearer-token pipeline policy for plain-http dev stand-ins only.
 *
 * `@azure/core-rest-pipeline`'s `bearerTokenAuthenticationPolicy` throws "Bearer token authentication is not
 * permitted for non-TLS protected (non-https) URLs" for any http URL (core-rest-pipeline 1.24.0), so a local
 * emulator cannot be reached with a `TokenCredential`. This policy is installed instead of it only when the
 * coordinator was told to allow insecure connections AND the endpoint is http (see model-clients.ts); it refuses
 * https URLs so it can never replace the real policy in production. The token is cached until 2 minutes before
 * it expires and is never logged.
 */
import type { TokenCredential, AccessToken } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** Name of the policy in the pipeline. */
export const STAND_IN_BEARER_POLICY = 'standInBearerPolicy';

const REFRESH_MARGIN_MS = 120_000;

/**
 * @param credential the token source.
 * @param scopes Entra scopes asked for.
 * @throws Error (from sendRequest) when used on an https URL, or when the credential returns no token.
 */
export function standInBearerPolicy(credential: TokenCredential, scopes: string[]): PipelinePolicy {
  let cached: AccessToken | null = null;
  return {
    name: STAND_IN_BEARER_POLICY,
    async sendRequest(request, next) {
      if (!request.url.toLowerCase().startsWith('http://')) {
        throw new Error(`${STAND_IN_BEARER_POLICY} serves http stand-ins only; https requests use the SDK bearer policy`);
      }
      if (!cached || cached.expiresOnTimestamp - Date.now() < REFRESH_MARGIN_MS) {
        cached = await credential.getToken(scopes, { abortSignal: request.abortSignal });
        if (!cached) throw new Error('the credential returned no access token');
      }
      request.headers.set('Authorization', `Bearer ${cached.token}`);
      return next(request);
    },
  };
}
