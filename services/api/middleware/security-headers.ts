/**
 * Response headers that make a JSON API safe to expose to browsers (OWASP Secure Headers Project, "REST" guidance):
 * - `X-Content-Type-Options: nosniff`: never sniff JSON as HTML/script;
 * - `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: never framed;
 * - `Content-Security-Policy: default-src 'none'`: a response rendered by mistake can load nothing;
 * - `Referrer-Policy: no-referrer`;
 * - `Cache-Control: no-store` under `/v1`: analyses and reports are per tenant and must not sit in shared caches;
 * - `Strict-Transport-Security` outside the dev profile (production is served over HTTPS only; RFC 6797).
 * Set before the handler runs, so error responses carry them too. The list is built once; each request sets it
 * with Node's `setHeader` (what Koa's `ctx.set` calls after normalising its arguments) and passes on without an
 * extra await. Names are written in lower case (HTTP field names are case-insensitive, RFC 9110 §5.1): Node keys
 * its header table by the lower-cased name, and an already lower-case name spares that copy on every request.
 */
import type { ApiMiddleware } from '../context.ts';

/** Options of {@link securityHeaders}. */
export interface SecurityHeadersOptions {
  /** Send HSTS (true unless APP_PROFILE is dev). */
  hsts: boolean;
  /** HSTS max-age, seconds. @defaultValue 31536000 (one year, the usual preload minimum) */
  hstsMaxAgeSec?: number;
}

/** Defaults of the optional {@link SecurityHeadersOptions} fields. */
export const DEFAULT_SECURITY_HEADERS_OPTIONS = { hstsMaxAgeSec: 31_536_000 } as const;

/** Adds the headers above to every response. */
export function securityHeaders(options: SecurityHeadersOptions): ApiMiddleware {
  const o = { ...DEFAULT_SECURITY_HEADERS_OPTIONS, ...options };
  const always: ReadonlyArray<readonly [string, string]> = [
    ['x-content-type-options', 'nosniff'],
    ['x-frame-options', 'DENY'],
    ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
    ['referrer-policy', 'no-referrer'],
    ...(o.hsts ? [['strict-transport-security', `max-age=${o.hstsMaxAgeSec}; includeSubDomains`] as const] : []),
  ];
  return (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of always) res.setHeader(name, value);
    const path = ctx.path;
    if (path === '/v1' || path.startsWith('/v1/')) res.setHeader('cache-control', 'no-store');
    return next();
  };
}
