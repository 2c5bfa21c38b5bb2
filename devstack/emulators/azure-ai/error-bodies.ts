/**
 * Error answers of the AI emulator in the two shapes Azure AI endpoints use (reference/azure-ai-inference.md §5):
 * the OpenAI-style nested `{"error": {"code", "message"}}` that Foundry / Azure OpenAI fronted endpoints return,
 * and the flat `{"error", "message", "status", "code"}` of the model-inference reference doc. Every error also
 * carries the `x-ms-error-code` header.
 */
import { STATUS_CODES } from 'node:http';

/** Which body shape errors use. */
export type ErrorShape = 'nested' | 'flat';

/** An HTTP error the emulator answers with. */
export class AiHttpError extends Error {
  constructor(
    /** HTTP status (400, 401, 404, 422, 429, 500, …). */
    readonly status: number,
    /** Machine code (`unknown_model`, `429`, `BadRequest`). */
    readonly code: string,
    message: string,
    readonly extra: { param?: string; detail?: { loc: (string | number)[]; value: unknown }; headers?: Record<string, string>; details?: string } = {},
  ) {
    super(message);
    this.name = 'AiHttpError';
  }
}

/** The JSON body of `e` in `shape`. */
export function errorBody(e: AiHttpError, shape: ErrorShape): Record<string, unknown> {
  const { param, detail, details } = e.extra;
  if (shape === 'flat') {
    return { error: STATUS_CODES[e.status] ?? 'Error', message: e.message, status: e.status, code: e.code, ...(param ? { param } : {}), ...(detail ? { detail } : {}) };
  }
  return { error: { code: e.code, message: e.message, ...(param ? { param } : {}), ...(detail ? { detail } : {}), ...(details ? { details } : {}) } };
}

/** 400 for a malformed request, naming the field (`body.messages[0].content[1].image_url.url`). */
export function badRequest(where: string, message: string): AiHttpError {
  return new AiHttpError(400, 'BadRequest', `${where}: ${message}`, { param: where });
}

/** 422 for a value the model does not accept, with `detail.loc` and `detail.value` as documented. */
export function unprocessable(loc: (string | number)[], value: unknown, message: string): AiHttpError {
  return new AiHttpError(422, 'UnprocessableEntity', `${loc.join('.')}: ${message}`, { param: loc.join('.'), detail: { loc, value } });
}
