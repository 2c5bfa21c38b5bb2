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
 * extra await.
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
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['Referrer-Policy', 'no-referrer'],
    ...(o.hsts ? [['Strict-Transport-Security', `max-age=${o.hstsMaxAgeSec}; includeSubDomains`] as const] : []),
  ];
  return (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of always) res.setHeader(name, value);
    const path = ctx.path;
    if (path === '/v1' || path.startsWith('/v1/')) res.setHeader('Cache-Control', 'no-store');
    return next();
  };
}
