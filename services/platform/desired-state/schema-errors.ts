/**
 * Turns ajv errors into one readable finding each, with the JSON pointer of the offending value (or key) so the
 * caller can add `file:line:column`. Wrapper errors that only repeat an inner one are dropped.
 */
import type { ErrorObject } from 'ajv';
import { jsonPointer, parseJsonPointer } from '../yaml-source.ts';

/** One schema violation: where (JSON pointer, and whether the key or the value is at fault) and what. */
export interface Finding {
  pointer: string;
  at: 'key' | 'value';
  message: string;
}

function child(pointer: string, name: string): string {
  return jsonPointer([...parseJsonPointer(pointer === '/' ? '' : pointer), name]);
}

function allowedKeys(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? ` (allowed: ${Object.keys(props).join(', ')})` : '';
}

/** Maps one ajv error (compiled with `verbose: true` so `parentSchema` is present). */
function toFinding(e: ErrorObject): Finding | undefined {
  const pointer = e.instancePath === '' ? '/' : e.instancePath;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'propertyNames':
      return undefined; // the inner error (with propertyName) says more
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      return { pointer: child(pointer, key), at: 'key', message: `unknown key "${key}"${allowedKeys(e)}` };
    }
    case 'required':
      return { pointer, at: 'value', message: `missing required key "${String(params.missingProperty)}"` };
    case 'enum':
      return { pointer, at: 'value', message: `must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { pointer, at: 'value', message: `must be ${JSON.stringify(params.allowedValue)}` };
    default:
      if (e.propertyName !== undefined) {
        return { pointer: child(pointer, e.propertyName), at: 'key', message: `invalid name "${e.propertyName}": ${e.message ?? 'is invalid'}` };
      }
      return { pointer, at: 'value', message: e.message ?? 'is invalid' };
  }
}

/** Maps every ajv error, dropping duplicates. */
export function schemaFindings(errors: readonly ErrorObject[]): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const f = toFinding(e);
    if (!f) continue;
    const k = `${f.pointer}|${f.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(f);
  }
  return out;
}
