/**
 * Turns a model's text answer into a JSON object valid against the caller's JSON Schema (ajv, draft-07 / 2019
 * keywords ajv supports by default, plus ajv-formats), and words the validation errors for a repair prompt.
 */
import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ValidationError } from '../platform/errors.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Result of {@link parseJsonAnswer}: the object, or the problems found (JSON paths and messages). */
export type JsonAnswer = { ok: true; json: Record<string, unknown> } | { ok: false; errors: string[] };

const FENCE = /^```[a-zA-Z]*[ \t]*\r?\n?([\s\S]*?)\r?\n?```$/;

/** Compiles schemas once per distinct schema text; a long-lived coordinator sees a handful of schemas. */
export class JsonSchemaCache {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly maxEntries: number;

  /** @param maxEntries compiled schemas kept (oldest dropped first). */
  constructor(maxEntries = 64) {
    this.ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(this.ajv);
    this.maxEntries = maxEntries;
  }

  /**
   * Returns the validator of `schema`.
   * @throws ValidationError (where `schema`) when ajv cannot compile it.
   */
  validator(schema: Record<string, unknown>): ValidateFunction {
    const key = createHash('sha256').update(JSON.stringify(schema)).digest('hex');
    const hit = this.compiled.get(key);
    if (hit) return hit;
    let fn: ValidateFunction;
    try {
      fn = this.ajv.compile(schema);
    } catch (err) {
      throw new ValidationError('the JSON schema of the request does not compile', [{ where: 'schema', message: err instanceof Error ? err.message : String(err) }]);
    }
    if (this.compiled.size >= this.maxEntries) {
      const oldest = this.compiled.keys().next().value;
      if (oldest !== undefined) this.compiled.delete(oldest);
    }
    this.compiled.set(key, fn);
    return fn;
  }
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(root)' : e.instancePath;
  const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : '';
  return `${at}: ${e.message ?? 'is invalid'}${extra}`;
}

/**
 * Parses `text` as one JSON object (a surrounding ```json fence is tolerated) and validates it.
 * @returns the object, or up to 20 problems like `/scenes/0/mood: must be string` or `(root): not JSON: …`.
 */
export function parseJsonAnswer(text: string, validate: ValidateFunction): JsonAnswer {
  let body = text.trim();
  const fenced = FENCE.exec(body);
  if (fenced) body = (fenced[1] ?? '').trim();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { ok: false, errors: [`(root): not JSON: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: ['(root): must be a JSON object'] };
  }
  if (!validate(value)) {
    return { ok: false, errors: (validate.errors ?? []).slice(0, 20).map(describe) };
  }
  return { ok: true, json: value as Record<string, unknown> };
}

/** The follow-up user message of a repair call: the problems, one per line, and what to send instead. */
export function repairInstruction(errors: readonly string[]): string {
  return [
    'Your previous answer does not validate against the required JSON schema:',
    ...errors.map((e) => `- ${e}`),
    'Reply again with only the corrected JSON object, no prose and no code fence.',
  ].join('\n');
}
