/**
 * Response headers that make a JSON API safe to expose to browsers (OWASP Secure Headers Project, "REST" guidance):
 * - `X-Content-Type-Options: nosniff`: never sniff JSON as HTML/script;
 * - `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: never framed;
 * - `Content-Security-Policy: default-src 'none'`: a response rendered by mistake can load nothing;
 * - `Referrer-Policy: no-referrer`;
 * - `Cache-Control: no-store` under `/v1`: analyses and reports are per tenant and must not sit in shared caches;
 * - `Strict-Transport-Security` outside the dev profile (production is served over HTTPS only; RFC 6797).
 * Set before the handler runs, so error responses carry them too.
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
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    ctx.set('Referrer-Policy', 'no-referrer');
    if (o.hsts) ctx.set('Strict-Transport-Security', `max-age=${o.hstsMaxAgeSec}; includeSubDomains`);
    if (ctx.path === '/v1' || ctx.path.startsWith('/v1/')) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
