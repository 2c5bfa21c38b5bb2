/**
 * Checks Copilot manifests and addon templates against `schemas/copilot/*.schema.json` (JSON Schema 2020-12,
 * ajv with `allErrors`) and turns ajv's errors into one readable issue per broken rule, at a JSON path.
 *
 * The schemas use three keywords of our own (documented in common.schema.json):
 * - `x-message`: the sentence to show when the schema it sits on fails (it always sits on a one-rule schema);
 *   `{property}` in it is replaced by the missing/unknown property. Errors from inside that schema's branches
 *   (an `anyOf`'s alternatives, say) are dropped: the sentence already says it.
 * - `x-at`: the property the sentence is about, so the location points at it rather than at its parent.
 * - `x-duration-range`: `{min, max}` bounds of a Go duration (`5s`..`300s`).
 * Strings with `${VAR}` are replaced by Copilot at deploy time, so pattern/format/enum checks on them are skipped.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SchemaValidateFunction } from 'ajv';
import { Ajv2020, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parseGoDurationMs } from '../go-duration.ts';
import { parseJsonPointer, type PathSegment } from '../yaml-source.ts';

/** The schemas a document can be checked against. */
export type SchemaKind = 'environment' | 'lb-web-service' | 'backend-service' | 'workload-addon' | 'environment-addon';

/** One broken rule. */
export interface SchemaIssue {
  /** JSON path of the offending value (or of the object missing a field). */
  path: PathSegment[];
  /** True when the issue is about a property name (unknown field): locate the key, not its value. */
  key: boolean;
  /** The rule, as a sentence fragment. */
  message: string;
}

/** Directory of the Copilot schemas. */
export const COPILOT_SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/copilot/', import.meta.url));

const SCHEMA_FILES = ['common', 'environment', 'lb-web-service', 'backend-service', 'addon'];
const SCHEMA_BASE = 'https://content-trends.example/schemas/copilot/';
const ROOTS: Record<SchemaKind, string> = {
  environment: `${SCHEMA_BASE}environment.schema.json`,
  'lb-web-service': `${SCHEMA_BASE}lb-web-service.schema.json`,
  'backend-service': `${SCHEMA_BASE}backend-service.schema.json`,
  'workload-addon': `${SCHEMA_BASE}addon.schema.json#/$defs/workload`,
  'environment-addon': `${SCHEMA_BASE}addon.schema.json#/$defs/environment`,
};

/** Copilot manifest `type` → schema, for the workload types this project uses. */
export const WORKLOAD_SCHEMAS: Readonly<Record<string, SchemaKind>> = {
  'Load Balanced Web Service': 'lb-web-service',
  'Backend Service': 'backend-service',
};

/** Keywords whose failure on a `${VAR}` string only means "value not known until deploy". */
const DEFERRED_KEYWORDS = new Set(['pattern', 'format', 'enum', 'const', 'minLength', 'maxLength', 'x-duration-range']);

const durationRange: SchemaValidateFunction = (schema: { min: string; max: string }, data: unknown): boolean => {
  if (typeof data !== 'string') return true;
  const ms = parseGoDurationMs(data);
  if (ms === undefined) return true; // the duration pattern reports bad syntax
  const min = parseGoDurationMs(schema.min) ?? 0;
  const max = parseGoDurationMs(schema.max) ?? Number.POSITIVE_INFINITY;
  if (ms >= min && ms <= max) return true;
  durationRange.errors = [{ keyword: 'x-duration-range', message: `must be between ${schema.min} and ${schema.max}`, params: { min: schema.min, max: schema.max } }];
  return false;
};

let validators: Map<SchemaKind, ValidateFunction> | undefined;

/** Compiles the schemas once (lazily: importing this module reads no file). */
function getValidator(kind: SchemaKind): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false, strictTuples: false, allowMatchingProperties: true });
    ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
    ajv.addKeyword({ keyword: 'x-at', schemaType: 'string' });
    ajv.addKeyword({ keyword: 'x-duration-range', type: 'string', schemaType: 'object', errors: true, validate: durationRange });
    for (const name of SCHEMA_FILES) {
      ajv.addSchema(JSON.parse(readFileSync(`${COPILOT_SCHEMA_DIR}${name}.schema.json`, 'utf8')) as AnySchemaObject);
    }
    validators = new Map();
    for (const [k, ref] of Object.entries(ROOTS) as [SchemaKind, string][]) {
      const v = ajv.getSchema(ref);
      if (!v) throw new Error(`schema ${ref} not found in ${COPILOT_SCHEMA_DIR}`);
      validators.set(k, v);
    }
  }
  return validators.get(kind)!;
}

/**
 * Validates `value` against the schema of `kind`.
 * @returns every broken rule (empty when valid), in ajv's order, without duplicates.
 */
export function checkAgainstSchema(kind: SchemaKind, value: unknown): SchemaIssue[] {
  const validate = getValidator(kind);
  if (validate(value)) return [];
  return toIssues(validate.errors ?? []);
}

function xMessageOf(e: ErrorObject): string | undefined {
  const m = e.parentSchema?.['x-message'];
  return typeof m === 'string' ? m : undefined;
}

function ownerPath(e: ErrorObject): string {
  return e.schemaPath.slice(0, e.schemaPath.lastIndexOf('/'));
}

function isDeferred(e: ErrorObject): boolean {
  return DEFERRED_KEYWORDS.has(e.keyword) && typeof e.data === 'string' && /\$\{[^}]+\}/.test(e.data);
}

function paramProperty(e: ErrorObject): string | undefined {
  const p = e.params as Record<string, unknown>;
  for (const k of ['missingProperty', 'additionalProperty', 'unevaluatedProperty', 'propertyName']) {
    if (typeof p[k] === 'string') return p[k];
  }
  return undefined;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', object: 'a map', array: 'a list', null: 'empty',
};

function standardIssue(e: ErrorObject, base: PathSegment[]): SchemaIssue {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: base, key: false, message: `missing required field \`${String(p.missingProperty)}\`` };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const prop = String(p.additionalProperty ?? p.unevaluatedProperty);
      return { path: [...base, prop], key: true, message: `unknown field \`${prop}\`` };
    }
    case 'enum':
      return { path: base, key: false, message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path: base, key: false, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'type': {
      const types = String(p.type).split(',').map((t) => TYPE_WORDS[t] ?? t);
      return { path: base, key: false, message: `must be ${types.join(' or ')}` };
    }
    case 'false schema':
      return { path: base, key: false, message: 'is not allowed here' };
    default:
      return { path: base, key: false, message: e.message ?? 'is invalid' };
  }
}

/** Maps ajv errors to issues; see the module comment for the rules. */
function toIssues(errors: ErrorObject[]): SchemaIssue[] {
  const owners = errors.filter((e) => xMessageOf(e) !== undefined).map((e) => ({ schemaPath: ownerPath(e), instancePath: e.instancePath }));
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if' || isDeferred(e)) continue;
    const base: PathSegment[] = parseJsonPointer(e.instancePath);
    const xm = xMessageOf(e);
    let issue: SchemaIssue;
    if (xm === undefined) {
      const shadowed = owners.some((o) => e.schemaPath.startsWith(`${o.schemaPath}/`) && e.instancePath.startsWith(o.instancePath));
      if (shadowed) continue;
      issue = standardIssue(e, base);
    } else {
      const prop = paramProperty(e);
      const message = xm.replace(/\{property\}/g, prop ?? '?');
      const at = e.parentSchema?.['x-at'];
      if (typeof at === 'string' && e.data !== null && typeof e.data === 'object' && at in e.data) issue = { path: [...base, at], key: true, message };
      else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') issue = { path: [...base, prop ?? ''], key: true, message };
      else issue = { path: base, key: false, message };
    }
    const id = `${JSON.stringify(issue.path)}\u0000${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}
