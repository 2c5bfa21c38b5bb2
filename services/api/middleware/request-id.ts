/**
 * Request ids: the caller's `X-Request-Id` when it is sane, else a new UUID. The id is echoed in the `X-Request-Id`
 * response header, put in every error envelope and bound to a child logger, so one id ties a client report to
 * every log line of the request. `ctx.state.log` is that child logger, created on first use.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/logger.ts';
import type { Principal } from '../auth/principal.ts';
import type { ApiMiddleware, ApiState } from '../context.ts';

/**
 * A caller-supplied id is kept only when it matches this: 1–128 characters, letters, digits and `._:-`. Anything
 * else (spaces, quotes, newlines that could forge log lines, kilobytes of text) is replaced by a generated id.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The header that carries the id both ways. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** {@link REQUEST_ID_HEADER} in lower case, as responses write it (middleware/security-headers.ts says why). */
const RESPONSE_HEADER = REQUEST_ID_HEADER.toLowerCase();

/**
 * `ctx.state` of one request. Its logger is made on first use: most requests log only their access line
 * (middleware/access-log.ts), which carries the id itself, and a pino child costs a serialisation of its bindings.
 */
class RequestState implements ApiState {
  requestId: string;
  clientAddress = '';
  principal?: Principal;
  tokenId?: string;
  errorCode?: string;
  readonly #root: Logger;
  #log: Logger | undefined;

  constructor(root: Logger, id: string) {
    this.#root = root;
    this.requestId = id;
  }

  get log(): Logger {
    return (this.#log ??= this.#root.child({ requestId: this.requestId }));
  }
}

/**
 * Replaces Koa's empty `ctx.state` with the request's {@link ApiState}.
 * @param rootLogger the process logger; each request that logs gets `rootLogger.child({ requestId })`.
 */
export function requestId(rootLogger: Logger): ApiMiddleware {
  return (ctx, next) => {
    const offered = ctx.get(REQUEST_ID_HEADER);
    const id = REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
    ctx.state = new RequestState(rootLogger, id);
    ctx.res.setHeader(RESPONSE_HEADER, id);
    return next();
  };
}
