/**
 * Checks a workload's `variables` and `secrets` (one environment's merged, interpolated manifest) against
 * `schemas/runtime-config.schema.json`, the single definition of every process's environment variables:
 * - every name is a property of the runtime schema, and `APP_ROLE` is left to the entry point;
 * - names marked `x-secret` come from `secrets`, never from plain `variables`; the others come from `variables`;
 * - the set satisfies the schema for the workload's role and profile: variables the role requires are present,
 *   dev-only keys are absent outside dev, literal values have the right shape (e.g. LOG_LEVEL's enum).
 *   Values Copilot only knows at deploy time (`${VAR}`, `from_cfn`, secrets) count as present, unchecked;
 * - a Load Balanced Web Service running the api role forwards to `image.port` = the api's API_PORT.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { PathSegment } from '../yaml-source.ts';
import { hasPlaceholder } from './interpolation.ts';
import { isPlainObject, type PlainObject } from './merge.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Path of the runtime configuration schema. */
export const RUNTIME_SCHEMA_PATH = fileURLToPath(new URL('../../../schemas/runtime-config.schema.json', import.meta.url));

/** The parts of the runtime schema this check reads. */
export type RuntimeSchema = AnySchemaObject & {
  properties: Record<string, { 'x-secret'?: boolean; default?: unknown; enum?: unknown[] }>;
};

/** One problem with a workload's variables, at a JSON path of the manifest. */
export interface RuntimeIssue {
  path: PathSegment[];
  key: boolean;
  message: string;
}

/** What to check: one environment's view of one workload. */
export interface RuntimeView {
  /** APP_ROLE of the process this workload runs, or undefined when the name is not a role (role rules skipped). */
  role: string | undefined;
  /** Merged, interpolated manifest of the workload. */
  manifest: PlainObject;
}

let compiled: { schema: RuntimeSchema; validate: ValidateFunction } | undefined;

/** Reads and compiles the runtime schema once. */
export function runtimeSchema(): { schema: RuntimeSchema; validate: ValidateFunction } {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(RUNTIME_SCHEMA_PATH, 'utf8')) as RuntimeSchema;
    const ajv = new Ajv({ allErrors: true, verbose: true, coerceTypes: true, useDefaults: true, strict: true, strictRequired: false, strictTypes: false });
    addFormats(ajv);
    ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
    compiled = { schema, validate: ajv.compile(schema) };
  }
  return compiled;
}

/** The roles named by the runtime schema's APP_ROLE enum. */
export function runtimeRoles(): string[] {
  const e = runtimeSchema().schema.properties.APP_ROLE?.enum;
  return Array.isArray(e) ? e.map(String) : [];
}

const SCHEMA_FILE = 'schemas/runtime-config.schema.json';

/** Checks one view; see the module comment. */
export function checkRuntimeVariables(view: RuntimeView): RuntimeIssue[] {
  const { schema, validate } = runtimeSchema();
  const props = schema.properties;
  const issues: RuntimeIssue[] = [];
  const variables = isPlainObject(view.manifest.variables) ? view.manifest.variables : {};
  const secrets = isPlainObject(view.manifest.secrets) ? view.manifest.secrets : {};

  const input: Record<string, unknown> = {};
  const deferred = new Set<string>();
  const origin = new Map<string, 'variables' | 'secrets'>();
  for (const [section, entries] of [['variables', variables], ['secrets', secrets]] as const) {
    for (const [name, value] of Object.entries(entries)) {
      const at: PathSegment[] = [section, name];
      const prop = props[name];
      if (name === 'APP_ROLE') {
        issues.push({ path: at, key: true, message: 'APP_ROLE is set by the process entry point, not by the manifest' });
        continue;
      }
      if (!prop) {
        issues.push({ path: at, key: true, message: `\`${name}\` is not a runtime variable: ${SCHEMA_FILE} has no property ${name}` });
        continue;
      }
      const secret = prop['x-secret'] === true;
      if (section === 'variables' && secret) {
        issues.push({ path: at, key: true, message: `${name} is a secret (x-secret in ${SCHEMA_FILE}): set it under \`secrets\` from Secrets Manager, never as a plain variable` });
        continue;
      }
      if (section === 'secrets' && !secret) {
        issues.push({ path: at, key: true, message: `${name} is not a secret (no x-secret in ${SCHEMA_FILE}): set it under \`variables\`` });
        continue;
      }
      origin.set(name, section);
      if (section === 'variables' && typeof value === 'string' && !hasPlaceholder(value)) input[name] = value;
      else {
        input[name] = typeof value === 'string' ? value : '(set at deploy time)';
        deferred.add(name);
      }
    }
  }
  if (view.role !== undefined) input.APP_ROLE = view.role;

  const profile = typeof input.APP_PROFILE === 'string' ? input.APP_PROFILE : String(props.APP_PROFILE?.default ?? 'dev');
  const valid = validate(input);
  const errors: ErrorObject[] = valid ? [] : (validate.errors ?? []);
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'additionalProperties') continue;
    const name = e.instancePath.split('/')[1];
    if (e.keyword === 'required' && e.instancePath === '') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      if (missing === 'APP_ROLE' || view.role === undefined || e.schemaPath.includes('/anyOf/')) continue;
      issues.push({ path: ['variables'], key: true, message: `${missing} is required by the ${view.role} role (${SCHEMA_FILE}) but neither \`variables\` nor \`secrets\` sets it` });
      continue;
    }
    if (e.keyword === 'anyOf' && e.instancePath === '') {
      if (view.role === undefined) continue;
      const alternatives = ((e.schema as Array<{ required?: string[] }>) ?? []).map((s) => (s.required ?? []).join('+'));
      issues.push({ path: ['variables'], key: true, message: `one of ${alternatives.join(' or ')} is required by the ${view.role} role (${SCHEMA_FILE})` });
      continue;
    }
    if (name === undefined) continue;
    const section = origin.get(name) ?? 'variables';
    if (e.keyword === 'false schema') {
      issues.push({ path: [section, name], key: true, message: `${name} is not allowed with APP_PROFILE ${profile} (${SCHEMA_FILE}: keys and connection strings are for dev only)` });
      continue;
    }
    if (deferred.has(name)) continue; // value known only at deploy time
    issues.push({ path: [section, name], key: false, message: `${name} ${e.message ?? 'is invalid'}${e.keyword === 'enum' ? `: ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}` : ''}` });
  }

  if (view.role === 'api' && view.manifest.type === 'Load Balanced Web Service') {
    const image = isPlainObject(view.manifest.image) ? view.manifest.image : {};
    const apiPort = Number(input.API_PORT ?? props.API_PORT?.default);
    if (typeof image.port === 'number' && Number.isFinite(apiPort) && image.port !== apiPort) {
      issues.push({ path: ['image', 'port'], key: false, message: `image.port ${image.port} must equal API_PORT (${apiPort}): the load balancer forwards to image.port and the api listens on API_PORT` });
    }
  }
  return issues;
}
