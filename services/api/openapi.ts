/**
 * schemas/openapi.yaml at run time: the document the API serves, and request validation compiled from it, so the
 * published contract and the checks the server makes cannot drift apart.
 *
 * OpenAPI 3.1 schemas are JSON Schema 2020-12 (OpenAPI 3.1.0 §4.8.24), so Ajv's 2020 build compiles them as they are.
 * The whole document is added to Ajv once under {@link DOCUMENT_ID}; each operation's validator is a small wrapper
 * schema `{ body, path, header }` whose parts are `$ref`s into the document (its request body schema and its
 * parameters' schemas). Ajv runs in strict mode; only the document's top-level OpenAPI fields are declared as
 * known keywords, so a typo inside a schema still fails at start-up.
 *
 * Query parameters arrive as strings, so they are checked by a second Ajv instance with `coerceTypes` (a
 * `?limit=20` becomes the integer 20 when the schema says integer; Ajv docs, "Coercing data types"). Bodies never
 * go through it: `"20"` in a JSON body stays a type error. A query parameter the operation does not declare is
 * "not an allowed field"; none of the document's query parameters is an array, so a declared one given twice
 * (`?limit=5&limit=6`) is "is given more than once" rather than a type error.
 *
 * A declared header parameter sent on more than one header line is "is given more than once" (read from the raw
 * header lines, middleware/header-lines.ts: for headers it does not know, Node joins repeated lines with ", ", which
 * would otherwise look like one malformed value). One sent with an empty value is "is empty", not absent: an empty
 * `Idempotency-Key` must not silently turn idempotency off.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { ValidationError, type Problem } from '../platform/errors.ts';
import type { ApiRouterContext } from './context.ts';
import { headerLines } from './middleware/header-lines.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Where the document lives in the repository. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../schemas/openapi.yaml', import.meta.url));
/** The id under which the document is registered in Ajv. */
export const DOCUMENT_ID = 'openapi.json';
/** HTTP methods that can hold an operation in a path item (OpenAPI 3.1.0 §4.8.9). */
export const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Top-level fields of an OpenAPI document (§4.8.1), declared to Ajv so strict mode accepts the document root. */
const DOCUMENT_KEYWORDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'];

/** The parts of an OpenAPI document this module reads. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [field: string]: unknown;
}

/** A parameter object (§4.8.12), after `$ref` resolution. */
interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
}

/** One operation found in the document. */
export interface OperationEntry {
  operationId: string;
  /** Upper-case method, e.g. `POST`. */
  method: string;
  /** OpenAPI path template, e.g. `/v1/analyses/{id}`. */
  path: string;
  /** JSON pointer (without `#`) of the operation object. */
  pointer: string;
  operation: Record<string, unknown>;
}

/** Reads and parses the document. @throws Error naming the file when it cannot be read or parsed. */
export function loadOpenApiDocument(path: string = OPENAPI_PATH): OpenApiDocument {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`read OpenAPI document ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const d = doc as Partial<OpenApiDocument> | null;
  if (!d || typeof d.openapi !== 'string' || typeof d.paths !== 'object' || d.paths === null) throw new Error(`${path}: not an OpenAPI document (no openapi/paths)`);
  return d as OpenApiDocument;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Resolves a local `#/…` JSON pointer inside the document. */
function resolvePointer(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.replace(/^#?\//, '').split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !(seg in node)) throw new Error(`OpenAPI document: ${pointer} does not resolve`);
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/** Lists every operation, in document order. */
export function listOperations(doc: OpenApiDocument): OperationEntry[] {
  const out: OperationEntry[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of OPERATION_METHODS) {
      const op = item[method];
      if (typeof op !== 'object' || op === null) continue;
      const operation = op as Record<string, unknown>;
      out.push({
        operationId: String(operation.operationId ?? ''),
        method: method.toUpperCase(),
        path,
        pointer: `/paths/${escapePointer(path)}/${method}`,
        operation,
      });
    }
  }
  return out;
}

/** `/v1/analyses/:id` (router) → `/v1/analyses/{id}` (OpenAPI). */
export function toOpenApiPath(routerPath: string): string {
  return routerPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The request parts a validator checks. Header names are as written in the document. */
export interface RequestParts {
  body: unknown;
  path: Record<string, string>;
  header: Record<string, string>;
  /** Query parameters, coerced to the types their schemas declare. */
  query: Record<string, unknown>;
}

/** `/body/options/maxKeyframes` → `body.options.maxKeyframes`; array indices as `[0]`. */
function toWhere(instancePath: string, child?: string): string {
  const segs = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segs.push(child);
  return segs.reduce((acc, s, i) => (i === 0 ? s : /^\d+$/.test(s) ? `${acc}[${s}]` : `${acc}.${s}`), '');
}

function toProblem(e: ErrorObject): Problem {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return { where: toWhere(e.instancePath, String(p.missingProperty)), message: 'is required' };
  if (e.keyword === 'additionalProperties') return { where: toWhere(e.instancePath, String(p.additionalProperty)), message: 'is not an allowed field' };
  if (e.keyword === 'enum' && Array.isArray(p.allowedValues)) return { where: toWhere(e.instancePath), message: `must be one of: ${p.allowedValues.join(', ')}` };
  return { where: toWhere(e.instancePath), message: e.message ?? 'is invalid' };
}

/** Validates one operation's request; returns the parts typed as the caller declares. */
export type RequestValidator<T> = (ctx: ApiRouterContext) => T;

/** Request validators of every operation of one document. */
export class RequestValidators {
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv2020;
  /** Same document, coercing strings to the declared types: for query parameters only. */
  private readonly queryAjv: Ajv2020;
  private readonly operations: Map<string, OperationEntry>;

  /** @throws Error when the document does not compile (unknown keyword, dangling `$ref`). */
  constructor(document: OpenApiDocument) {
    this.document = document;
    const make = (coerceTypes: boolean): Ajv2020 => {
      const ajv = new Ajv2020({ allErrors: true, strict: true, coerceTypes });
      addFormats(ajv);
      ajv.addVocabulary(DOCUMENT_KEYWORDS);
      ajv.addSchema(document as object, DOCUMENT_ID);
      return ajv;
    };
    this.ajv = make(false);
    this.queryAjv = make(true);
    this.operations = new Map(listOperations(document).map((o) => [o.operationId, o]));
  }

  /**
   * Compiles one schema of the document by JSON pointer, e.g. `/components/schemas/AnalysisEnvelope` (tests use it
   * to check that responses match what the document promises).
   */
  schema(pointer: string): ValidateFunction {
    return this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
  }

  private parameters(op: OperationEntry): Array<{ param: ParameterObject; schemaRef: string }> {
    const list = op.operation.parameters;
    if (!Array.isArray(list)) return [];
    return list.map((entry: unknown, i) => {
      const ref = typeof entry === 'object' && entry !== null ? (entry as { $ref?: unknown }).$ref : undefined;
      const pointer = typeof ref === 'string' ? ref.replace(/^#/, '') : `${op.pointer}/parameters/${i}`;
      return { param: resolvePointer(this.document, pointer) as ParameterObject, schemaRef: `${DOCUMENT_ID}#${pointer}/schema` };
    });
  }

  /**
   * Compiles the validator of `operationId`. The returned function throws ValidationError (400 `validation_failed`,
   * `details.problems[{ where: 'body.videoKey' | 'path.id' | 'header.Idempotency-Key' | 'query.limit', message }]`).
   * `T` must describe what the operation's schemas guarantee; the cast happens here, once.
   * @throws Error when the document has no such operation, or one of its query parameters is an array.
   */
  validator<T>(operationId: string): RequestValidator<T> {
    const op = this.operations.get(operationId);
    if (!op) throw new Error(`${OPENAPI_PATH}: no operation with operationId ${operationId}`);
    const params = this.parameters(op);
    const group = (where: 'path' | 'header'): Record<string, unknown> => {
      const mine = params.filter((p) => p.param.in === where);
      return {
        type: 'object',
        properties: Object.fromEntries(mine.map((p) => [p.param.name, { $ref: p.schemaRef }])),
        required: mine.filter((p) => p.param.required === true).map((p) => p.param.name),
      };
    };
    const requestBody = op.operation.requestBody as { required?: boolean } | undefined;
    const schema = {
      type: 'object',
      properties: {
        ...(requestBody ? { body: { $ref: `${DOCUMENT_ID}#${op.pointer}/requestBody/content/application~1json/schema` } } : {}),
        path: group('path'),
        header: group('header'),
      },
      required: requestBody?.required ? ['body', 'path', 'header'] : ['path', 'header'],
    };
    const validate: ValidateFunction = this.ajv.compile(schema);
    const queryParams = params.filter((p) => p.param.in === 'query');
    for (const { param, schemaRef } of queryParams) {
      const schema = resolvePointer(this.document, schemaRef.slice(DOCUMENT_ID.length + 1)) as { type?: unknown };
      // A repeated query parameter is refused below, so an array parameter could never be sent.
      if (schema.type === 'array') throw new Error(`${OPENAPI_PATH}: ${operationId} query parameter ${param.name} is an array; repeated query parameters are not supported`);
    }
    const validateQuery: ValidateFunction = this.queryAjv.compile({
      type: 'object',
      properties: {
        query: {
          type: 'object',
          properties: Object.fromEntries(queryParams.map((p) => [p.param.name, { $ref: p.schemaRef }])),
          required: queryParams.filter((p) => p.param.required === true).map((p) => p.param.name),
          additionalProperties: false,
        },
      },
    });
    const headerNames = params.filter((p) => p.param.in === 'header').map((p) => [p.param.name, p.param.name.toLowerCase()] as const);
    const queryNames = queryParams.map((p) => p.param.name);
    return (ctx) => {
      // Problems found before the schemas run; schema problems at the same place would only repeat them.
      const problems: Problem[] = [];
      const header: Record<string, string> = {};
      for (const [name, lowerName] of headerNames) {
        const values = headerLines(ctx.req, lowerName);
        if (values.length === 0) continue;
        if (values.length > 1) problems.push({ where: `header.${name}`, message: 'is given more than once' });
        else if (values[0] === '') problems.push({ where: `header.${name}`, message: 'is empty' });
        else if (values[0] !== undefined) header[name] = values[0];
      }
      const query: Record<string, unknown> = { ...ctx.query };
      for (const name of queryNames) {
        if (Array.isArray(query[name])) problems.push({ where: `query.${name}`, message: 'is given more than once' });
      }
      const reported = new Set(problems.map((p) => p.where));
      const fresh = (errors: ErrorObject[] | null | undefined): Problem[] => (errors ?? []).map(toProblem).filter((p) => !reported.has(p.where));
      const parts: RequestParts = { body: ctx.request.body ?? {}, path: { ...ctx.params }, header, query };
      if (!validate(parts)) problems.push(...fresh(validate.errors));
      // Coerces parts.query in place.
      if (!validateQuery(parts)) problems.push(...fresh(validateQuery.errors));
      if (problems.length > 0) {
        throw new ValidationError(`the request is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems);
      }
      return parts as T;
    };
  }
}
