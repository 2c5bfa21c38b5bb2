/**
 * The AWS JSON 1.1 wire protocol as ECS and Application Auto Scaling speak it: errors are HTTP 400 (client) or
 * 500 (server) with a body `{"__type": "<namespace>#<ExceptionName>", "message": "..."}`, which the v3 SDK turns
 * into an exception whose `name` is `<ExceptionName>` (`@aws-sdk/core` `loadJsonRpcErrorCode` strips the
 * namespace). Request fields are read with {@link FieldReader}, which names the offending field in its errors,
 * as the services do (`InvalidParameterException` for ECS, `ValidationException` for Application Auto Scaling).
 */

/** A JSON value as sent on the wire. `undefined` members are dropped by `JSON.stringify`. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };

/** A JSON object. */
export type JsonObject = { [key: string]: Json | undefined };

/** An error the emulator answers with, in the service's own vocabulary. */
export class AwsServiceError extends Error {
  /**
   * @param type the exception name, e.g. `ClusterNotFoundException` (the real service's name).
   * @param status HTTP status: 400 for client faults (including `ThrottlingException`), 500 for server faults.
   */
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** The error body: `{ __type: "<namespace>#<type>", message }`. */
export function errorBody(namespace: string, e: AwsServiceError): JsonObject {
  return { __type: `${namespace}#${e.type}`, message: e.message };
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Typed, validating access to one request object. Every failure throws an {@link AwsServiceError} of the
 * reader's `invalidType` whose message names the field by its path (`deploymentConfiguration.maximumPercent`).
 */
export class FieldReader {
  constructor(
    private readonly obj: Record<string, unknown>,
    /** Exception name for invalid input: `InvalidParameterException` (ECS) or `ValidationException` (AAS). */
    readonly invalidType: string,
    private readonly prefix = '',
  ) {}

  /** The raw object. */
  get raw(): Record<string, unknown> {
    return this.obj;
  }

  /** Path of a member, for messages. */
  path(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Throws the reader's validation error for `name`. */
  fail(name: string, what: string): never {
    throw new AwsServiceError(this.invalidType, `${this.path(name)} ${what}`);
  }

  /** True when the member is present and not null. */
  has(name: string): boolean {
    return this.obj[name] !== undefined && this.obj[name] !== null;
  }

  /** A string member; `pattern` and `maxLength` are checked when given. */
  str(name: string, o: { required: true; pattern?: RegExp; maxLength?: number; oneOf?: readonly string[] }): string;
  str(name: string, o?: { required?: boolean; pattern?: RegExp; maxLength?: number; oneOf?: readonly string[] }): string | undefined;
  str(name: string, o: { required?: boolean; pattern?: RegExp; maxLength?: number; oneOf?: readonly string[] } = {}): string | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (o.required) this.fail(name, 'is required.');
      return undefined;
    }
    if (typeof v !== 'string') this.fail(name, `must be a string, got ${typeof v}.`);
    if (o.required && v.length === 0) this.fail(name, 'cannot be empty.');
    if (o.maxLength !== undefined && v.length > o.maxLength) this.fail(name, `must be at most ${o.maxLength} characters.`);
    if (o.pattern && !o.pattern.test(v)) this.fail(name, `must match ${o.pattern.source}, but was ${v}`);
    if (o.oneOf && !o.oneOf.includes(v)) this.fail(name, `must be one of ${o.oneOf.join(', ')}, but was ${v}.`);
    return v;
  }

  /** An integer member within [min, max]. */
  int(name: string, o: { min?: number; max?: number; required: true }): number;
  int(name: string, o?: { min?: number; max?: number; required?: false }): number | undefined;
  int(name: string, o: { min?: number; max?: number; required?: boolean } = {}): number | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (o.required) this.fail(name, 'is required.');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(name, 'must be an integer.');
    if (o.min !== undefined && v < o.min) this.fail(name, `must be >= ${o.min}, but was ${v}.`);
    if (o.max !== undefined && v > o.max) this.fail(name, `must be <= ${o.max}, but was ${v}.`);
    return v;
  }

  /** A (possibly fractional) number member. */
  num(name: string, o: { min?: number; required?: boolean; exclusiveMin?: number } = {}): number | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (o.required) this.fail(name, 'is required.');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(name, 'must be a number.');
    if (o.min !== undefined && v < o.min) this.fail(name, `must be >= ${o.min}, but was ${v}.`);
    if (o.exclusiveMin !== undefined && v <= o.exclusiveMin) this.fail(name, `must be > ${o.exclusiveMin}, but was ${v}.`);
    return v;
  }

  /** A required boolean member. */
  boolReq(name: string): boolean {
    const v = this.bool(name);
    if (v === undefined) this.fail(name, 'is required.');
    return v;
  }

  /** An optional boolean member. */
  bool(name: string): boolean | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(name, 'must be a boolean.');
    return v;
  }

  /** A list of strings with at most `max` items. */
  strList(name: string, o: { max?: number; required?: boolean; minItems?: number } = {}): string[] | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (o.required) this.fail(name, 'is required.');
      return undefined;
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(name, 'must be a list of strings.');
    if (o.minItems !== undefined && v.length < o.minItems) this.fail(name, `must have at least ${o.minItems} item(s).`);
    if (o.max !== undefined && v.length > o.max) this.fail(name, `can have at most ${o.max} items.`);
    return v as string[];
  }

  /** A nested object, as a reader with a longer path. */
  obj2(name: string, o: { required?: boolean } = {}): FieldReader | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (o.required) this.fail(name, 'is required.');
      return undefined;
    }
    if (!isObject(v)) this.fail(name, 'must be an object.');
    return new FieldReader(v, this.invalidType, this.path(name));
  }

  /** A list of objects, each as a reader (`name[i]`). */
  objList(name: string, o: { required?: boolean; max?: number; minItems?: number } = {}): FieldReader[] | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (o.required) this.fail(name, 'is required.');
      return undefined;
    }
    if (!Array.isArray(v)) this.fail(name, 'must be a list.');
    if (o.minItems !== undefined && v.length < o.minItems) this.fail(name, `must have at least ${o.minItems} item(s).`);
    if (o.max !== undefined && v.length > o.max) this.fail(name, `can have at most ${o.max} items.`);
    return v.map((item, i) => {
      if (!isObject(item)) this.fail(`${name}[${i}]`, 'must be an object.');
      return new FieldReader(item, this.invalidType, this.path(`${name}[${i}]`));
    });
  }

  /** A string-to-string map (AAS tags). */
  strMap(name: string): Record<string, string> | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) this.fail(name, 'must be a map of strings.');
    return { ...(v as Record<string, string>) };
  }

  /** Any JSON member, passed through unchanged (copied). */
  json(name: string): Json | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    return structuredClone(v) as Json;
  }
}
