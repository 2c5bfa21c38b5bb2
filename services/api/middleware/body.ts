/**
 * Request bodies: JSON only, size-limited.
 * - A POST/PUT/PATCH that carries a body must be `application/json` (any charset co-body can decode), else 415
 *   `unsupported_media_type`. A request without a body parses as `{}`, so a missing field is reported as missing.
 * - More than `limitBytes` is 413 `body_too_large`; raw-body stops reading as soon as the limit (or a larger
 *   Content-Length) is seen, so an oversized body is never buffered.
 * - Malformed JSON, or a JSON scalar at the top level (strict mode), is 400 `invalid_json`.
 * Error shapes of co-body/raw-body (`status` and `type` such as `entity.too.large`): raw-body README, "Errors".
 */
import { bodyParser } from '@koa/bodyparser';
import { AppError, ValidationError } from '../../platform/errors.ts';
import type { ApiMiddleware } from '../context.ts';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Options of {@link jsonBody}. */
export interface JsonBodyOptions {
  /** Largest accepted body, bytes (API_BODY_LIMIT_BYTES). */
  limitBytes: number;
}

function mapParseError(err: unknown, limitBytes: number): AppError {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  if (type === 'entity.too.large') return new AppError('body_too_large', `the request body is larger than ${limitBytes} bytes`, 413, { limitBytes });
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return new AppError('unsupported_media_type', 'the request body charset or Content-Encoding is not supported; send UTF-8 JSON', 415);
  }
  if (type === 'request.aborted') return new AppError('bad_request', 'the request was aborted while its body was read', 400);
  return new ValidationError('the request body is not valid JSON (a JSON object is expected)', [{ where: 'body', message: 'is not valid JSON' }], 'invalid_json');
}

/** The body middleware; runs after authentication so unauthenticated bodies are never read. */
export function jsonBody(options: JsonBodyOptions): ApiMiddleware {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: options.limitBytes,
    jsonStrict: true,
    encoding: 'utf-8',
    onError: (err) => {
      throw mapParseError(err, options.limitBytes);
    },
  });
  return (ctx, next) => {
    // GET, HEAD, DELETE, OPTIONS: no route reads a body, so none is parsed (validators see `{}`).
    if (!BODY_METHODS.has(ctx.method)) return next();
    const hasBody = (ctx.request.length ?? 0) > 0 || ctx.get('Transfer-Encoding') !== '';
    if (hasBody && !ctx.is('application/json')) {
      const got = ctx.get('Content-Type') || 'no Content-Type';
      throw new AppError('unsupported_media_type', `request bodies must be application/json (got ${got})`, 415);
    }
    return parse(ctx, next);
  };
}
