/**
 * Request bodies: JSON only, UTF-8 only, size-limited.
 * - A POST/PUT/PATCH that carries a body must be `application/json`, else 415 `unsupported_media_type`. JSON is
 *   UTF-8 (RFC 8259 §8.1): a `charset` parameter other than `utf-8` is 415 too, before anything is read (co-body
 *   would decode any body as UTF-8 whatever it declares). A request without a body parses as `{}`, so a missing field
 *   is reported as missing.
 * - A `Content-Encoding` other than those co-body's decoder (inflation 2) reads, `identity`, `gzip`, `deflate` and
 *   `br`, is 415 `unsupported_media_type` naming it, before anything is read. inflation matches them exactly as
 *   written (lower case, one coding), so `GZIP` or `gzip, br` is refused too.
 * - More than `limitBytes` is 413 `body_too_large`; raw-body stops reading as soon as the limit (or a larger
 *   Content-Length) is seen, so an oversized body is never buffered.
 * - Malformed JSON is 400 `invalid_json`. Valid JSON that is not an object or array at the top level (`null`, `42`,
 *   `"x"`; co-body's strict mode refuses it) is 400 `validation_failed`, `body`: "must be object", as the schemas say
 *   of an array.
 * - A `__proto__` key, or a `constructor` key holding a `prototype` key, anywhere in the body is 400
 *   `validation_failed` naming it (`body.options.__proto__`: "is not an allowed field", as the OpenAPI schemas'
 *   `additionalProperties: false` would say). co-body's parser (@hapi/bourne) refuses such bodies before any object
 *   is built, so nothing can reach an object's prototype; the refused text is re-read with `JSON.parse` (which
 *   makes `__proto__` a plain own key, never the prototype) only to find where the key is.
 * Error shapes of co-body/raw-body (`status` and `type` such as `entity.too.large`): raw-body README, "Errors".
 */
import { bodyParser } from '@koa/bodyparser';
import { AppError, ValidationError } from '../../platform/errors.ts';
import type { ApiMiddleware } from '../context.ts';
import { headerLines } from './header-lines.ts';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Charset names of UTF-8 (IANA "UTF-8", and the `utf8` alias Node and most clients accept), lower case. */
const UTF8_CHARSETS: ReadonlySet<string> = new Set(['utf-8', 'utf8']);

/**
 * The Content-Encoding values co-body's decoder, inflation 2 (`index.js`, its `switch (encoding)`), reads; `br` needs
 * `zlib.createBrotliDecompress`, which every supported Node has. An absent header means `identity`.
 */
const CONTENT_ENCODINGS: readonly string[] = ['identity', 'gzip', 'deflate', 'br'];

/** The JSON path (`body.options.__proto__`, `body.items[2].constructor`) of the first prototype-poisoning key. */
function poisonedKey(value: unknown, where: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = poisonedKey(value[i], `${where}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === '__proto__') return `${where}.${key}`;
    if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) return `${where}.${key}`;
    const found = poisonedKey(child, `${where}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Why co-body refused a body that is JSON: a prototype-poisoning key (where it is), or a top-level value that is not
 * an object or array. `undefined` when the text is not JSON at all.
 */
function refusedJsonError(text: string): ValidationError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) {
    const got = parsed === null ? 'null' : typeof parsed;
    return new ValidationError(`the request body must be a JSON object (got ${got})`, [{ where: 'body', message: 'must be object' }]);
  }
  const where = poisonedKey(parsed, 'body');
  return where ? new ValidationError('the request is invalid (1 problem)', [{ where, message: 'is not an allowed field' }]) : undefined;
}

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
  // co-body puts the text it could not accept on the error (co-body lib/json.js).
  const text = typeof err === 'object' && err !== null ? (err as { body?: unknown }).body : undefined;
  const refused = typeof text === 'string' ? refusedJsonError(text) : undefined;
  if (refused) return refused;
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
    if (hasBody && headerLines(ctx.req, 'content-type').length > 1) {
      throw new AppError('unsupported_media_type', 'the Content-Type header is given more than once; send one (application/json)', 415);
    }
    if (hasBody && !ctx.is('application/json')) {
      const got = ctx.get('Content-Type') || 'no Content-Type';
      throw new AppError('unsupported_media_type', `request bodies must be application/json (got ${got})`, 415);
    }
    const charset = ctx.request.charset;
    if (hasBody && charset !== '' && !UTF8_CHARSETS.has(charset.toLowerCase())) {
      throw new AppError('unsupported_media_type', `request bodies must be UTF-8 JSON (got charset ${charset})`, 415);
    }
    const contentEncoding = ctx.get('Content-Encoding');
    if (hasBody && contentEncoding !== '' && !CONTENT_ENCODINGS.includes(contentEncoding)) {
      throw new AppError('unsupported_media_type', `the request body's Content-Encoding ${contentEncoding} is not supported (supported: ${CONTENT_ENCODINGS.join(', ')})`, 415);
    }
    return parse(ctx, next);
  };
}
