/**
 * Runtime configuration: the only module that reads `process.env`.
 *
 * Every setting of every process role comes from environment variables described by one JSON Schema,
 * `schemas/runtime-config.schema.json`, checked with ajv at start-up. Profiles (dev, staging, production) are
 * rules in that schema: outside dev every endpoint must be TLS and keys are refused in favour of identities.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ValidationError, type Problem } from './errors.ts';
import { redactUrl } from './redact-url.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The process roles that load configuration. */
export type Role = 'api' | 'worker' | 'reconciler';
/** Deployment profiles. */
export type Profile = 'dev' | 'staging' | 'production';

/**
 * The validated configuration. Field names are the environment variable names; units are in the names or the
 * schema descriptions (`*_MS` milliseconds, `*_BYTES` bytes, `*_SEC` seconds).
 */
export interface Config {
  APP_ROLE: Role;
  APP_PROFILE: Profile;
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  QUEUE_NAME: string;
  AWS_REGION: string;
  S3_TEMP_BUCKET?: string;
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE: boolean;
  ECS_ENDPOINT?: string;
  APPLICATION_AUTOSCALING_ENDPOINT?: string;
  /** CloudWatch endpoint override (stand-ins only; https outside dev). */
  CLOUDWATCH_ENDPOINT?: string;
  AZURE_STORAGE_ACCOUNT_URL?: string;
  AZURE_STORAGE_CONNECTION_STRING?: string;
  KEYFRAMES_CONTAINER: string;
  DESIRED_STATE_FILE?: string;
  /** Interpolated into desired-state documents (`${ECS_CLUSTER}`). */
  ECS_CLUSTER?: string;
  /** Interpolated into desired-state documents (`${AI_FOUNDRY_ENDPOINT}`). */
  AI_FOUNDRY_ENDPOINT?: string;
  /** Interpolated into desired-state documents (`${RECONCILE_INTERVAL}`), a Go-style duration. */
  RECONCILE_INTERVAL?: string;
  AI_AUTH: 'key' | 'managed-identity' | 'workload-identity' | 'aws-web-identity';
  AZURE_AI_API_KEY?: string;
  /** Entra tenant of the model-call identity (required for workload-identity and aws-web-identity). */
  AZURE_TENANT_ID?: string;
  /** Client id of the identity holding the federated identity credential (same modes). */
  AZURE_CLIENT_ID?: string;
  /** Federated token file read by WorkloadIdentityCredential (workload-identity). */
  AZURE_FEDERATED_TOKEN_FILE?: string;
  /** Entra authority host override (https outside dev). */
  AZURE_AUTHORITY_HOST?: string;
  /** AWS STS endpoint override for GetWebIdentityToken (https outside dev). */
  STS_ENDPOINT?: string;
  /** Audience of the AWS-issued web identity JWT (aws-web-identity). */
  AWS_WEB_IDENTITY_AUDIENCE: string;
  /** Lifetime asked of STS GetWebIdentityToken, seconds. */
  AWS_WEB_IDENTITY_TOKEN_DURATION_SEC: number;
  AI_API_VERSION: '2025-04-01' | '2024-05-01-preview';
  AI_TIMEOUT_MS: number;
  /** Interface of the worker's Prometheus `/metrics` listener. */
  WORKER_METRICS_HOST: string;
  /** Port of the worker's Prometheus `/metrics` listener; 0 picks a free port. */
  WORKER_METRICS_PORT: number;
  /** Lifetime of an AI response-cache entry, seconds; 0 turns the cache off (services/ai/response-cache.ts). */
  AI_CACHE_TTL_SEC: number;
  /** Daily AI budget of every tenant, USD per UTC day (worker); unset: none. */
  AI_DAILY_BUDGET_USD?: number;
  /** Per-tenant daily AI budgets overriding it: `tenant=usd` pairs, comma-separated (services/ai/budgets-from-config.ts). */
  AI_TENANT_DAILY_BUDGETS_USD?: string;
  API_HOST: string;
  API_PORT: number;
  API_BODY_LIMIT_BYTES: number;
  /** Requests per minute per tenant on /v1 routes. */
  API_RATE_LIMIT_PER_TENANT_PER_MIN: number;
  /** Requests per minute per bearer token on /v1 routes. */
  API_RATE_LIMIT_PER_TOKEN_PER_MIN: number;
  /** Requests per minute per client address without a valid token (health routes, failed authentication). */
  API_RATE_LIMIT_PER_CLIENT_PER_MIN: number;
  /** Comma-separated IPs/CIDRs of trusted proxies; X-Forwarded-For is read only from them. */
  API_TRUSTED_PROXIES: string;
  /** Port of the API's Prometheus /metrics listener. */
  API_METRICS_PORT: number;
  AUTH_JWT_ISSUER?: string;
  AUTH_JWT_AUDIENCE?: string;
  AUTH_JWKS_URL?: string;
  AUTH_JWT_PUBLIC_KEY?: string;
  AUTH_JWT_ALGORITHMS: string;
  WORKER_CONCURRENCY: number;
  WORK_DIR?: string;
  VIDEO_MAX_BYTES: number;
  VIDEO_MAX_DURATION_SEC: number;
  /** Largest accepted long side of a video frame, px. */
  VIDEO_MAX_LONG_SIDE_PX: number;
  /** Largest accepted short side of a video frame, px. */
  VIDEO_MAX_SHORT_SIDE_PX: number;
  /** Vision calls in flight per analysis. */
  VISION_CONCURRENCY: number;
  KEYFRAMES_MAX: number;
  JOB_TIMEOUT_MS: number;
  JOB_ATTEMPTS: number;
  /** Days an analysis record is kept after its last write. */
  RESULT_RETENTION_DAYS: number;
  /** BullMQ job lock duration of the worker, ms. */
  JOB_LOCK_DURATION_MS: number;
  SHUTDOWN_GRACE_MS: number;
  RECONCILER_HOST: string;
  RECONCILER_PORT: number;
  RECONCILE_INTERVAL_MS: number;
  RECONCILE_DRY_RUN: boolean;
  /** Probe the declared Azure AI model endpoints: `auto` (on unless dev without a usable credential), `on`, `off`. */
  RECONCILE_AI_MODELS: 'auto' | 'on' | 'off';
  /** Drift reports kept in Redis history. */
  RECONCILE_HISTORY_LENGTH: number;
  /** Reconciler leader lease, ms. */
  RECONCILE_LOCK_TTL_MS: number;
  /** Per-resource write back-off after the first failure, ms (controller/resource-backoff.ts). */
  RECONCILE_BACKOFF_BASE_MS: number;
  /** Largest per-resource write back-off, ms; >= RECONCILE_BACKOFF_BASE_MS. */
  RECONCILE_BACKOFF_CAP_MS: number;
  /** Publish ContentTrends/QueueDepthPerTask to CloudWatch after every pass of the leader. */
  RECONCILE_PUBLISH_QUEUE_METRIC: boolean;
  /**
   * Snapshot of the whole environment, for `${VAR}` interpolation in desired-state documents (the same
   * convention as Copilot manifests). Never logged.
   */
  readonly interpolationEnv: Readonly<Record<string, string>>;
}

interface SchemaProperty {
  'x-secret'?: boolean;
  type?: string | string[];
}
interface ConfigSchema {
  properties: Record<string, SchemaProperty>;
  /** Conditional rules: `if` (constants or enums of some variables) then `then`. */
  allOf?: Array<{ if?: { properties?: Record<string, { const?: unknown; enum?: unknown[] }> } }>;
}

const schemaPath = fileURLToPath(new URL('../../schemas/runtime-config.schema.json', import.meta.url));
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as ConfigSchema;

/** Names of the variables marked `x-secret` in the schema: their values are never printed. */
export const SECRET_VARIABLES: readonly string[] = Object.entries(schema.properties)
  .filter(([, p]) => p['x-secret'] === true)
  .map(([name]) => name);

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: true, strictRequired: false, strictTypes: false, verbose: true });
addFormats(ajv);
ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
const validate = ajv.compile(schema);

/**
 * Why a variable is required, from the `allOf/<i>/then` rule that requires it (`schemaPath`): the role's rule ("for the
 * worker role"), its condition on other variables ("when AI_AUTH is key"), or both ("for the api role when APP_PROFILE
 * is staging or production").
 * @returns that text, and the variables of the condition other than APP_ROLE.
 */
function requiredBecause(schemaPath: string, role: Role): { text: string; conditionNames: string[] } {
  const rule = /^#\/allOf\/(\d+)\/then\//.exec(schemaPath);
  const condition = rule ? schema.allOf?.[Number(rule[1])]?.if?.properties : undefined;
  const others = Object.entries(condition ?? {}).filter(([name]) => name !== 'APP_ROLE');
  const forRole = !condition || 'APP_ROLE' in condition ? `for the ${role} role` : '';
  const conditionNames = others.map(([name]) => name);
  if (others.length === 0) return { text: forRole, conditionNames };
  const when = `when ${others.map(([name, c]) => `${name} is ${c.const !== undefined ? String(c.const) : (c.enum ?? []).map(String).join(' or ')}`).join(' and ')}`;
  return { text: forRole ? `${forRole} ${when}` : when, conditionNames };
}

/** Turns ajv errors into one problem per variable, dropping the `if`/`anyOf` wrappers that only repeat them. */
function toProblems(errors: ErrorObject[], role: Role): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  /** The variables each conditional requirement depends on ({@link requiredBecause}). */
  const conditionsOf = new Map<Problem, string[]>();
  let conditionNames: string[] = [];
  for (const e of errors) {
    conditionNames = [];
    if (e.keyword === 'if') continue;
    let where = e.instancePath.replace(/^\//, '');
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      where = String((e.params as { missingProperty: string }).missingProperty);
      const because = requiredBecause(e.schemaPath, role);
      message = `is required ${because.text}`;
      conditionNames = because.conditionNames;
    } else if (e.keyword === 'additionalProperties') {
      continue; // only known variables are collected, so this cannot come from the environment
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      message = `must be one of ${allowed.join(', ')}`;
    } else if (e.keyword === 'const') {
      message = `must be ${String((e.params as { allowedValue: unknown }).allowedValue)}`;
    } else if (e.keyword === 'false schema') {
      message = 'is not allowed outside the dev profile (use an identity, not a key)';
    } else if (e.keyword === 'anyOf') {
      const alts = ((e.schema as Array<{ required: string[] }>) ?? []).map((s) => s.required.join('+'));
      where = alts.join(' or ');
      message = `one of them is required for the ${role} role`;
    }
    const key = `${where}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const problem = { where, message };
    problems.push(problem);
    if (conditionNames.length > 0) conditionsOf.set(problem, conditionNames);
  }
  // A failed anyOf also reports each branch's missing variable; keep only the combined line.
  const anyOfNames = new Set(problems.filter((p) => p.where.includes(' or ')).flatMap((p) => p.where.split(' or ')));
  // "required when AI_AUTH is key" says nothing useful when AI_AUTH=key is itself refused (a key outside dev).
  const refused = new Set(problems.filter((p) => !p.message.startsWith('is required')).map((p) => p.where));
  const becauseOfRefused = (p: Problem): boolean => (conditionsOf.get(p) ?? []).some((name) => refused.has(name));
  return problems.filter((p) => (p.where.includes(' or ') || !anyOfNames.has(p.where) || !p.message.startsWith('is required')) && !becauseOfRefused(p));
}

/**
 * A number as people write it in configuration: decimal digits, an optional fraction and exponent. ajv's coercion
 * takes whatever `Number()` takes, so `Infinity` passed every `maximum` (an `AI_TIMEOUT_MS` of Infinity made every
 * timer fire after 1 ms) and `0x1000` or `0b11` were read silently. `1e400` (Infinity once read) is refused too.
 */
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** Variables whose schema type is number or integer, with that type (the refusal says which, as ajv would). */
const NUMERIC_VARIABLES: ReadonlyMap<string, 'number' | 'integer'> = new Map(
  Object.entries(schema.properties).flatMap(([name, p]): Array<[string, 'number' | 'integer']> => {
    const types = [p.type].flat();
    return types.includes('integer') ? [[name, 'integer']] : types.includes('number') ? [[name, 'number']] : [];
  }),
);

/**
 * Rules between variables that JSON Schema cannot state: each problem names the variable to change.
 * Runs on input the schema accepted (types coerced, defaults filled).
 */
function crossFieldProblems(c: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const base = c.RECONCILE_BACKOFF_BASE_MS;
  const cap = c.RECONCILE_BACKOFF_CAP_MS;
  if (typeof base === 'number' && typeof cap === 'number' && cap < base) {
    problems.push({ where: 'RECONCILE_BACKOFF_CAP_MS', message: `must be >= RECONCILE_BACKOFF_BASE_MS (${base}), got ${cap}` });
  }
  return problems;
}

/**
 * Reads and validates the configuration of `role` from `env` (defaults to `process.env`).
 * Only variables named in the schema are read; empty strings count as unset.
 * @throws ValidationError listing every problem (variable name and what is wrong; never a value).
 */
export function loadConfig(role: Role, env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, unknown> = { APP_ROLE: role };
  const notDecimal: Problem[] = [];
  for (const name of Object.keys(schema.properties)) {
    if (name === 'APP_ROLE') continue;
    const v = env[name];
    if (v === undefined || v === '') continue;
    const numeric = NUMERIC_VARIABLES.get(name);
    if (numeric && !(DECIMAL.test(v.trim()) && Number.isFinite(Number(v)))) notDecimal.push({ where: name, message: `must be ${numeric}` });
    else input[name] = v;
  }
  const valid = validate(input);
  const problems = [...notDecimal, ...(valid ? (notDecimal.length > 0 ? [] : crossFieldProblems(input)) : toProblems(validate.errors ?? [], role))];
  if (problems.length > 0) {
    throw new ValidationError(`invalid configuration for the ${role} role (${problems.length} problem${problems.length === 1 ? '' : 's'}):`, problems, 'invalid_config');
  }
  const snapshot: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) snapshot[k] = v;
  return Object.assign(input as unknown as Config, { interpolationEnv: Object.freeze(snapshot) });
}

/** Exit code for a configuration error (sysexits.h EX_CONFIG). */
export const EXIT_CONFIG = 78;

/**
 * Entry-point helper: loads the configuration or prints every problem to stderr (no stack trace, no secret
 * value) and exits the process with code 78.
 */
export function loadConfigOrExit(role: Role): Config {
  try {
    return loadConfig(role);
  } catch (err) {
    if (err instanceof ValidationError) {
      process.stderr.write(`${err.render()}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

/** A copy of the configuration that is safe to log: secret values replaced by `[redacted]`, env snapshot dropped. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'interpolationEnv') continue;
    out[k] = SECRET_VARIABLES.includes(k) ? '[redacted]' : typeof v === 'string' ? redactUrl(v) : v;
  }
  return out;
}
