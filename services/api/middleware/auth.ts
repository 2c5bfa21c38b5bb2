/**
 * Authentication and authorisation of the API.
 *
 * {@link authenticate} runs for every path except the open ones (`/healthz`, `/readyz`; DESIGN.md §7). It is
 * fail-closed: a route added later is protected without anyone remembering to, and an unknown path answers 401
 * before 404, so unauthenticated callers cannot map the API. {@link requireScope} then guards each route.
 *
 * Status and challenge follow RFC 6750 §3 (Bearer token usage):
 * - no, malformed or repeated `Authorization` header: 401 `unauthorized`, `WWW-Authenticate: Bearer realm="…"`
 *   (Node keeps the first of two Authorization lines: header-lines.ts);
 * - a token that fails verification: 401 `invalid_token`, `…, error="invalid_token", error_description="…"`;
 * - a valid token without the route's scope: 403 `forbidden`, `…, error="insufficient_scope", scope="…"`.
 */
import type { Middleware } from 'koa';
import { AuthError } from '../../platform/errors.ts';
import type { TokenVerifier } from '../auth/jwt-verifier.ts';
import type { KeyedTokenVerifier } from '../auth/verified-token-cache.ts';
import type { Principal } from '../auth/principal.ts';
import type { ApiContext, ApiMiddleware, ApiState } from '../context.ts';
import { tokenKey } from '../rate-limits.ts';
import { headerLines } from './header-lines.ts';

/** The realm named in `WWW-Authenticate`. */
export const AUTH_REALM = 'content-trends';

/** Paths served without a token. Everything else needs one. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** RFC 6750 §2.1 `b64token` after the `Bearer` scheme (scheme name case-insensitive, RFC 7235 §2.1). */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** 403 for a verified caller who lacks `requiredScope`. */
export class MissingScopeError extends AuthError {
  /** The scope the route needs. */
  readonly requiredScope: string;
  constructor(requiredScope: string) {
    super(403, 'forbidden', `this operation needs the scope ${requiredScope}`);
    this.requiredScope = requiredScope;
  }
}

function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, '')}"`;
}

/** The `WWW-Authenticate` value for an AuthError (used by middleware/errors.ts). */
export function bearerChallenge(err: AuthError): string {
  const realm = `Bearer realm=${quoted(AUTH_REALM)}`;
  if (err instanceof MissingScopeError) return `${realm}, error="insufficient_scope", scope=${quoted(err.requiredScope)}`;
  if (err.code === 'invalid_token') return `${realm}, error="invalid_token", error_description=${quoted(err.message)}`;
  return realm;
}

/**
 * Verifies the bearer token on every non-open path and sets `ctx.state.principal` and `ctx.state.tokenId` (the
 * token's key, rate-limits.ts `tokenKey`, also handed to a keyed verifier so the token is hashed once).
 * @throws AuthError 401 (`unauthorized` / `invalid_token`); TransientError 503 when the key source is unreachable.
 */
export function authenticate(verify: KeyedTokenVerifier | TokenVerifier, openPaths: ReadonlySet<string> = OPEN_PATHS): ApiMiddleware {
  const peek = 'peek' in verify ? verify.peek : undefined;
  return (ctx, next) => {
    if (openPaths.has(ctx.path)) return next();
    const header = ctx.get('Authorization');
    if (header === '') throw new AuthError(401, 'unauthorized', 'a bearer token is required (Authorization: Bearer <JWT>)');
    if (headerLines(ctx.req, 'authorization').length > 1) throw new AuthError(401, 'unauthorized', 'the Authorization header is given more than once; send one bearer token');
    const m = BEARER.exec(header);
    const token = m?.[1];
    if (!token) throw new AuthError(401, 'unauthorized', 'the Authorization header must be "Bearer <JWT>"');
    const tokenId = tokenKey(token);
    // A token verified moments ago (the common case) is answered from the cache without waiting.
    const cached = peek?.(tokenId);
    if (cached) {
      ctx.state.principal = cached;
      ctx.state.tokenId = tokenId;
      return next();
    }
    return verify(token, tokenId).then((principal) => {
      ctx.state.principal = principal;
      ctx.state.tokenId = tokenId;
      return next();
    });
  };
}

/** The verified caller of a protected route. @throws Error when called where {@link authenticate} did not run. */
export function principalOf(ctx: ApiContext): Principal {
  const p = ctx.state.principal;
  if (!p) throw new Error(`no principal on ${ctx.method} ${ctx.path}: authenticate() did not run`);
  return p;
}

/**
 * Route middleware: the caller must hold `scope`.
 * @throws MissingScopeError (403 `forbidden`).
 */
export function requireScope(scope: string): Middleware<ApiState> {
  return (ctx, next) => {
    if (!principalOf(ctx).scopes.has(scope)) throw new MissingScopeError(scope);
    return next();
  };
}
