/**
 * Sets `ctx.state.clientAddress` from the TCP peer and, behind a trusted proxy only, `X-Forwarded-For`
 * (client-address.ts). The address feeds the unauthenticated rate limit; logs only ever see its anonymised form.
 */
import { clientAddress, type TrustedProxies } from '../client-address.ts';
import type { ApiMiddleware } from '../context.ts';

/** @param trusted parsed API_TRUSTED_PROXIES. */
export function clientAddressOf(trusted: TrustedProxies): ApiMiddleware {
  return (ctx, next) => {
    ctx.state.clientAddress = clientAddress(ctx.req.socket.remoteAddress, ctx.get('X-Forwarded-For'), trusted);
    return next();
  };
}
