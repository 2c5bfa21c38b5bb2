/**
 * A local stand-in for the identity provider: an ES256 key pair generated in memory at run time (never written,
 * never committed) and a minter of bearer tokens shaped like the production provider's (DESIGN.md §7, the claims the
 * API reads are documented in services/api/auth/principal.ts).
 *
 * The demo passes `publicKeyPem` to the API as AUTH_JWT_PUBLIC_KEY (dev profile) or serves `publicJwk` as a JWKS;
 * tests mint good tokens and, through the `MintOptions` overrides, expired, early or foreign ones.
 */
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import type { Tier } from '../services/analyses/types.ts';

/** Claims of a dev token. */
export interface DevTokenClaims {
  /** Subject (user id). */
  sub: string;
  /** Tenant id. */
  tenant_id: string;
  /** Space-separated scopes, e.g. `analyses:write analyses:read`. */
  scope: string;
  /** Caller tier; omitted means the API's default (`free`). */
  tier?: Tier;
  /** Anything else to put in the payload. */
  [claim: string]: unknown;
}

/** Per-token overrides, mostly for negative tests. */
export interface MintOptions {
  /**
   * Lifetime: a jose duration string (`'15m'`, `'-1h'` for an already expired token) or a number of seconds from
   * now (negative = in the past). @defaultValue '15m'
   */
  expiresIn?: string | number;
  /** `nbf` as seconds from now (positive = not valid yet). @defaultValue unset */
  notBeforeInSec?: number;
  /** Overrides the issuer's `iss`. */
  issuer?: string;
  /** Overrides the issuer's `aud`. */
  audience?: string;
}

/** The dev identity provider. */
export interface DevIssuer {
  /** `iss` of every token (AUTH_JWT_ISSUER). */
  issuer: string;
  /** `aud` of every token (AUTH_JWT_AUDIENCE). */
  audience: string;
  /** Signature algorithm (AUTH_JWT_ALGORITHMS must include it). */
  algorithm: 'ES256';
  /** Key id, in every token's header and in `publicJwk`. */
  kid: string;
  /** Public key as PEM (SPKI), for AUTH_JWT_PUBLIC_KEY. */
  publicKeyPem: string;
  /** Public key as a JWK with `kid`, `alg` and `use`, for a JWKS (`{ keys: [publicJwk] }`). */
  publicJwk: JWK;
  /** Signs a token. */
  mint(claims: DevTokenClaims, opts?: MintOptions): Promise<string>;
}

/** Options of {@link createDevIssuer}. */
export interface DevIssuerOptions {
  /** @defaultValue 'https://id.dev.content-trends.local/' */
  issuer?: string;
  /** @defaultValue 'content-trends-api' */
  audience?: string;
  /** @defaultValue `dev-` + 8 random hex characters */
  kid?: string;
}

/** Defaults of {@link DevIssuerOptions} (issuer and audience the demo configures the API with). */
export const DEFAULT_DEV_ISSUER = { issuer: 'https://id.dev.content-trends.local/', audience: 'content-trends-api' } as const;

/** Generates a fresh key pair and returns the issuer. */
export async function createDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const issuer = options.issuer ?? DEFAULT_DEV_ISSUER.issuer;
  const audience = options.audience ?? DEFAULT_DEV_ISSUER.audience;
  const kid = options.kid ?? `dev-${randomBytes(4).toString('hex')}`;
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const publicKeyPem = await exportSPKI(publicKey);
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    issuer,
    audience,
    algorithm: 'ES256',
    kid,
    publicKeyPem,
    publicJwk,
    async mint(claims, opts = {}) {
      const nowSec = Math.floor(Date.now() / 1000);
      const expiresIn = opts.expiresIn ?? '15m';
      let jwt = new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(opts.issuer ?? issuer)
        .setAudience(opts.audience ?? audience)
        .setIssuedAt(nowSec)
        .setExpirationTime(typeof expiresIn === 'number' ? nowSec + expiresIn : expiresIn);
      if (opts.notBeforeInSec !== undefined) jwt = jwt.setNotBefore(nowSec + opts.notBeforeInSec);
      return jwt.sign(privateKey);
    },
  };
}
