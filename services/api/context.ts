/**
 * The typed Koa context of the API: what each middleware leaves in `ctx.state` for the ones after it.
 * Koa's own `DefaultState` is `any`; every middleware and route here uses these types instead.
 */
import type { ParameterizedContext, Middleware } from 'koa';
import type { Router, RouterContext } from '@koa/router';
import type { Logger } from '../platform/logger.ts';
import type { Principal } from './auth/principal.ts';

/** Per-request state, filled in order by the middleware chain (see app.ts). */
export interface ApiState {
  /** Set by middleware/request-id.ts: the caller's sane `X-Request-Id` or a generated UUID. */
  requestId: string;
  /** Set by middleware/request-id.ts: the root logger's child bound to `requestId`. */
  log: Logger;
  /** Set by middleware/client-address.ts: the client's IP (client-address.ts rules); personal data, never logged. */
  clientAddress: string;
  /** Set by middleware/auth.ts on `/v1` routes once the bearer token verified. */
  principal?: Principal;
  /** Set by middleware/auth.ts with `principal`: the rate-limit key of the token (rate-limits.ts `tokenKey`). */
  tokenId?: string;
  /** Set by middleware/errors.ts when the response is an error envelope: its `code`, for the access log. */
  errorCode?: string;
}

/** Koa context carrying {@link ApiState}. */
export type ApiContext = ParameterizedContext<ApiState>;
/** Context inside a router handler (adds `params`, `_matchedRoute`). */
export type ApiRouterContext = RouterContext<ApiState>;
/** App-level middleware. */
export type ApiMiddleware = Middleware<ApiState>;
/** The API's router. */
export type ApiRouter = Router<ApiState>;
