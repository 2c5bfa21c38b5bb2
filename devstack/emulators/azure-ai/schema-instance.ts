/**
 * Builds a deterministic instance of a JSON Schema, so an emulated `response_format: json_schema` answer passes
 * the caller's validation. It walks the schema: `$ref` (local `#/…`), `allOf` (merged), `anyOf`/`oneOf` (first
 * branch that is not `null`), `const`, `enum` (picked by the seeded random source, i.e. by a hash of the prompt),
 * objects (every declared property, required ones guaranteed), arrays (`minItems`…`maxItems`, `uniqueItems`,
 * `prefixItems`), numbers within `minimum`/`maximum`/exclusive bounds and `multipleOf`, strings from the words of
 * the prompt within `minLength`/`maxLength`, common `format`s, and `pattern` when a candidate matches it.
 */
import type { SeededRandom } from './deterministic-random.ts';

/** Where the instance's values come from. */
export interface InstanceContext {
  /** Words of the prompt (and image descriptions), in order, deduplicated; never empty. */
  words: string[];
  /** A sentence to use for description-like fields (`description`, `summary`, `caption`, …). */
  sentence: string;
  rng: SeededRandom;
}

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;
const SENTENCE_FIELDS = /(description|summary|caption|explanation|reason|rationale|analysis|details|notes|text|comment|answer)/i;
const SHORT_FIELDS = /(title|name|label|topic|trend|tag|keyword|category|genre|mood|style|theme|hashtag)/i;

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resolveRef(ref: string, root: Schema): Schema {
  if (!ref.startsWith('#')) throw new Error(`$ref ${ref}: only local references (#/…) are supported by the emulator`);
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isSchema(node) ? node[key] : undefined;
  }
  if (!isSchema(node)) throw new Error(`$ref ${ref} does not resolve to a schema`);
  return node;
}

/** Flattens `$ref` and `allOf` into one schema (properties and required lists are merged). */
function flatten(schema: Schema, root: Schema, depth: number): Schema {
  let s = schema;
  if (typeof s.$ref === 'string') {
    const { $ref, ...rest } = s;
    s = { ...flatten(resolveRef($ref as string, root), root, depth + 1), ...rest };
  }
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    let merged: Schema = { ...rest };
    for (const part of allOf as unknown[]) {
      if (!isSchema(part)) continue;
      const p = flatten(part, root, depth + 1);
      merged = {
        ...p,
        ...merged,
        properties: { ...(isSchema(p.properties) ? p.properties : {}), ...(isSchema(merged.properties) ? merged.properties : {}) },
        required: [...new Set([...((p.required as string[] | undefined) ?? []), ...((merged.required as string[] | undefined) ?? [])])],
      };
    }
    s = merged;
  }
  const branches = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined) as unknown[] | undefined;
  if (branches) {
    const { anyOf: _a, oneOf: _o, ...rest } = s;
    const pick = branches.find((b) => isSchema(b) && b.type !== 'null') ?? branches[0];
    if (isSchema(pick)) s = { ...rest, ...flatten(pick, root, depth + 1) };
  }
  return s;
}

function typeOf(s: Schema): string {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') as string | undefined) ?? 'null';
  if (isSchema(s.properties) || s.required !== undefined) return 'object';
  if (s.items !== undefined || s.prefixItems !== undefined) return 'array';
  if (s.minimum !== undefined || s.maximum !== undefined) return 'number';
  return 'string';
}

function words(ctx: InstanceContext, count: number): string {
  const start = ctx.rng.int(0, Math.max(0, ctx.words.length - 1));
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(ctx.words[(start + i) % ctx.words.length]!);
  return out.join(' ');
}

function stringFor(s: Schema, name: string, ctx: InstanceContext, variant: number): string {
  const format = typeof s.format === 'string' ? s.format : undefined;
  const base = ctx.rng.int(0, 9999);
  const w = ctx.words[base % ctx.words.length]!.toLowerCase().replace(/[^a-z0-9]/g, '') || 'emulator';
  switch (format) {
    case 'date-time': return new Date(Date.UTC(2025, 0, 1) + base * 86_400_000).toISOString();
    case 'date': return new Date(Date.UTC(2025, 0, 1) + base * 86_400_000).toISOString().slice(0, 10);
    case 'time': return `${String(base % 24).padStart(2, '0')}:${String(base % 60).padStart(2, '0')}:00Z`;
    case 'email': return `${w}@example.com`;
    case 'uri': case 'url': case 'iri': return `https://example.com/${w}`;
    case 'hostname': return `${w}.example.com`;
    case 'ipv4': return `192.0.2.${base % 255}`;
    case 'uuid': {
      const h = Array.from({ length: 32 }, () => ctx.rng.int(0, 15).toString(16)).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    default: break;
  }
  const suffix = variant > 0 ? String(variant) : '';
  const candidates = (SENTENCE_FIELDS.test(name) ? [ctx.sentence, words(ctx, 6)] : SHORT_FIELDS.test(name) ? [words(ctx, 2), w] : [words(ctx, 4), w]).map((c) => c + suffix);
  if (typeof s.pattern === 'string') {
    const re = new RegExp(s.pattern, 'u');
    const found = [...candidates, ...ctx.words, w, String(base), w.toUpperCase()].map((c) => (c.endsWith(suffix) ? c : c + suffix)).find((c) => re.test(c));
    if (found !== undefined) candidates.unshift(found);
  }
  let v = candidates[0]!;
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
  while (v.length < min) v = `${v} ${words(ctx, 3)}`.trim();
  if (max !== undefined && v.length > max) v = v.slice(0, max).trimEnd().padEnd(Math.min(min, max), 'x');
  return v;
}

function numberFor(s: Schema, integer: boolean, ctx: InstanceContext): number {
  const excl = (k: 'exclusiveMinimum' | 'exclusiveMaximum', inclusiveKey: 'minimum' | 'maximum'): number | undefined => {
    const v = s[k];
    if (typeof v === 'number') return v;
    if (v === true && typeof s[inclusiveKey] === 'number') return s[inclusiveKey] as number; // draft-04 form
    return undefined;
  };
  const exMin = excl('exclusiveMinimum', 'minimum');
  const exMax = excl('exclusiveMaximum', 'maximum');
  const step = integer ? 1 : 0.01;
  let lo = typeof s.minimum === 'number' && s.exclusiveMinimum !== true ? s.minimum : exMin !== undefined ? exMin + step : undefined;
  let hi = typeof s.maximum === 'number' && s.exclusiveMaximum !== true ? s.maximum : exMax !== undefined ? exMax - step : undefined;
  if (lo === undefined && hi === undefined) [lo, hi] = integer ? [1, 100] : [0, 1];
  else if (lo === undefined) lo = Math.min(0, hi!);
  else if (hi === undefined) hi = lo + 100;
  if (integer) {
    lo = Math.ceil(lo!);
    hi = Math.floor(hi!);
  }
  let v = lo! + ctx.rng.next() * (hi! - lo!);
  const multipleOf = typeof s.multipleOf === 'number' && s.multipleOf > 0 ? s.multipleOf : undefined;
  if (multipleOf) {
    const k = Math.ceil(lo! / multipleOf);
    const kMax = Math.floor(hi! / multipleOf);
    v = Number((ctx.rng.int(k, Math.max(k, kMax)) * multipleOf).toPrecision(12));
  } else {
    v = integer ? Math.round(v) : Math.round(v * 100) / 100;
    v = Math.min(Math.max(v, lo!), hi!);
  }
  return v;
}

/**
 * A value that validates against `schema`.
 * @param name the property name the value is for (chooses sentence, short or plain text for strings).
 * @param variant > 0 asks for a different string than variant 0 (used to fill `uniqueItems` arrays).
 * @throws Error for a `$ref` that is not local or does not resolve, or a `false` schema.
 */
export function schemaInstance(schema: unknown, ctx: InstanceContext, root: unknown = schema, name = '', depth = 0, variant = 0): unknown {
  if (schema === true || (isSchema(schema) && Object.keys(schema).length === 0)) return words(ctx, 2);
  if (!isSchema(schema)) throw new Error(`schema at ${name || '(root)'} is not satisfiable`);
  const s = flatten(schema, isSchema(root) ? root : schema, depth);
  if ('const' in s) return structuredClone(s.const);
  if (Array.isArray(s.enum) && s.enum.length) return structuredClone(ctx.rng.pick(s.enum));
  const deep = depth >= MAX_DEPTH;
  switch (typeOf(s)) {
    case 'null': return null;
    case 'boolean': return ctx.rng.next() < 0.5;
    case 'integer': return numberFor(s, true, ctx);
    case 'number': return numberFor(s, false, ctx);
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : deep ? 0 : 1;
      const max = typeof s.maxItems === 'number' ? s.maxItems : min + 2;
      const n = deep ? min : ctx.rng.int(min, Math.max(min, Math.min(max, min + 2)));
      const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as unknown[]) : Array.isArray(s.items) ? (s.items as unknown[]) : [];
      const itemSchema = Array.isArray(s.items) ? (s.additionalItems ?? {}) : (s.items ?? {});
      const out: unknown[] = [];
      const seen = new Set<string>();
      let collisions = 0;
      for (let i = 0; out.length < Math.max(n, prefix.length) && i < n * 20 + prefix.length + 20; i++) {
        const sub = out.length < prefix.length ? prefix[out.length] : itemSchema;
        const v = schemaInstance(sub, ctx, root, name.replace(/s$/, ''), depth + 1, collisions);
        const key = JSON.stringify(v);
        if (s.uniqueItems === true && seen.has(key)) {
          collisions += 1;
          continue;
        }
        seen.add(key);
        out.push(v);
      }
      return out;
    }
    case 'object': {
      const props = isSchema(s.properties) ? s.properties : {};
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      const keys = deep ? required : [...new Set([...Object.keys(props), ...required])];
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = schemaInstance(props[k] ?? {}, ctx, root, k, depth + 1);
      return out;
    }
    default: return stringFor(s, name, ctx, variant);
  }
}
