/**
 * Bearer token verification with `jose` (DESIGN.md §7): signature against the identity provider's keys, then
 * issuer, audience, `exp` and `nbf` (with a small clock tolerance), with the accepted algorithms pinned so a token
 * can never choose `none` or an HMAC keyed with our public key. Keys come from either:
 * - `jwksUrl`: the provider's JWKS, fetched and cached by `createRemoteJWKSet` (production);
 * - `publicKeyPem`: one PEM (SPKI) key, for the dev profile only (the config schema refuses it elsewhere).
 *
 * Failures are sorted by what the caller should do: a bad token is AuthError 401 `invalid_token` (get a new token);
 * an identity provider that cannot be reached is TransientError 503 `service_unavailable` (retry later), so an
 * outage never looks like a rejected token.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWSHeaderParameters, type JWTVerifyGetKey, type FlattenedJWSInput } from 'jose';
import { AuthError, TransientError } from '../../platform/errors.ts';
import { principalFromClaims, type Principal } from './principal.ts';

/** Verifies a compact JWS bearer token and returns the caller. Throws AuthError (401) or TransientError (503). */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** Signature algorithms the API accepts: asymmetric only (the same list as AUTH_JWT_ALGORITHMS in the config schema). */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
/** One accepted algorithm. */
export type AcceptedAlgorithm = (typeof ACCEPTED_ALGORITHMS)[number];

/** Options of {@link createJwtVerifier}. Exactly one of `jwksUrl` and `publicKeyPem` must be given. */
export interface JwtVerifierOptions {
  /** Required `iss` (AUTH_JWT_ISSUER). */
  issuer: string;
  /** Required `aud`, or one of its entries (AUTH_JWT_AUDIENCE). */
  audience: string;
  /** Accepted `alg` header values (AUTH_JWT_ALGORITHMS); anything else is rejected before the key is looked at. */
  algorithms: readonly AcceptedAlgorithm[];
  /** JWKS URL of the identity provider (AUTH_JWKS_URL). */
  jwksUrl?: string;
  /** PEM (SPKI) public key (AUTH_JWT_PUBLIC_KEY, dev only). */
  publicKeyPem?: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds. @defaultValue 30 */
  clockToleranceSec?: number;
  /** Timeout of one JWKS fetch, ms (jose's default is 5000). @defaultValue 2000 */
  jwksTimeoutMs?: number;
  /** Longest token accepted, characters; longer is rejected unparsed. @defaultValue 8192 */
  maxTokenChars?: number;
}

/** Defaults of the optional {@link JwtVerifierOptions} fields. */
export const DEFAULT_JWT_VERIFIER_OPTIONS = { clockToleranceSec: 30, jwksTimeoutMs: 2000, maxTokenChars: 8192 } as const;

/**
 * Parses AUTH_JWT_ALGORITHMS (`RS256,ES256`).
 * @throws Error naming the first unknown algorithm (the config schema already rejects them; this guards callers).
 */
export function parseAlgorithms(csv: string): AcceptedAlgorithm[] {
  return csv.split(',').map((s) => {
    const a = s.trim();
    if (!(ACCEPTED_ALGORITHMS as readonly string[]).includes(a)) throw new Error(`AUTH_JWT_ALGORITHMS: ${a || '(empty)'} is not one of ${ACCEPTED_ALGORITHMS.join(', ')}`);
    return a as AcceptedAlgorithm;
  });
}

/** Sentences for jose's stable error codes; they describe the token, never quote it. */
function invalidTokenMessage(err: unknown): string {
  if (!(err instanceof joseErrors.JOSEError)) return 'the token could not be verified';
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as joseErrors.JWTClaimValidationFailed;
      if (reason === 'missing') return `the token has no ${claim} claim`;
      if (claim === 'iss') return 'the token issuer is not accepted';
      if (claim === 'aud') return 'the token audience is not accepted';
      if (claim === 'nbf') return 'the token is not valid yet';
      return `the token claim ${claim} is invalid`;
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token algorithm is not accepted';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature is invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no key of the identity provider matches the token';
    default:
      return 'the token is malformed';
  }
}

/**
 * Wraps the remote JWKS so that failing to fetch it (network, timeout, bad JSON) is a TransientError, while "no key
 * matches this kid" stays a token problem.
 */
function jwksKeys(url: string, timeoutMs: number): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: timeoutMs });
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await jwks(header, token);
    } catch (err) {
      const tokenProblem = err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys;
      if (tokenProblem) throw err;
      throw new TransientError('service_unavailable', "the identity provider's signing keys could not be fetched; retry later", { cause: err });
    }
  };
}

/**
 * Builds the verifier.
 * @throws Error when neither or both of `jwksUrl` and `publicKeyPem` are given, or the PEM does not parse.
 */
export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const o = { ...DEFAULT_JWT_VERIFIER_OPTIONS, ...options };
  if (Boolean(o.jwksUrl) === Boolean(o.publicKeyPem)) throw new Error('createJwtVerifier: give exactly one of jwksUrl and publicKeyPem');
  const key: KeyObject | JWTVerifyGetKey = o.jwksUrl ? jwksKeys(o.jwksUrl, o.jwksTimeoutMs) : createPublicKey(o.publicKeyPem ?? '');
  const verifyOptions = {
    issuer: o.issuer,
    audience: o.audience,
    algorithms: [...o.algorithms],
    clockTolerance: o.clockToleranceSec,
    requiredClaims: ['exp', 'sub'],
  };
  return async (token: string): Promise<Principal> => {
    if (token.length > o.maxTokenChars) throw new AuthError(401, 'invalid_token', `the token is longer than ${o.maxTokenChars} characters`);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, verifyOptions));
    } catch (err) {
      if (err instanceof TransientError) throw err;
      throw new AuthError(401, 'invalid_token', invalidTokenMessage(err));
    }
    return principalFromClaims(payload);
  };
}
