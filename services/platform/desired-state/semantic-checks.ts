/**
 * Rules of a desired-state document that JSON Schema cannot express. They run on the raw (interpolated) data
 * even when the schema failed, so one run reports every problem; each rule therefore narrows what it reads.
 */
import { validateDetailed } from 'node-cron';
import type { Finding } from './schema-errors.ts';
import { jsonPointer as toPointer } from '../yaml-source.ts';
import { tryParseDurationMs } from './duration.ts';
import { isNonPublicHost } from '../non-public-address.ts';

/** Bounds of `spec.management.interval`: a pass every 5 s at most, once a day at least. */
export const INTERVAL_BOUNDS_MS = { min: 5_000, max: 86_400_000 } as const;

/** The model uses that at least one model must serve: the pipeline calls both (DESIGN.md §5 steps 5 and 6). */
export const REQUIRED_MODEL_USES = ['vision', 'text'] as const;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function checkService(name: string, svc: Obj, out: Finding[]): void {
  const base = ['spec', 'ecs', 'services', name];
  const at = (...rest: string[]): string => toPointer([...base, ...rest]);
  const scaling = obj(svc.autoscaling);
  if (scaling) {
    const min = num(scaling.min);
    const max = num(scaling.max);
    if (min !== undefined && max !== undefined && min > max) {
      out.push({ pointer: at('autoscaling', 'min'), at: 'value', message: `min (${min}) must be <= max (${max})` });
    }
    if (!['targetCpuPercent', 'targetRequestsPerTarget', 'targetQueueDepthPerTask'].some((k) => k in scaling)) {
      out.push({ pointer: at('autoscaling'), at: 'value', message: 'needs at least one target: targetCpuPercent, targetRequestsPerTarget or targetQueueDepthPerTask' });
    }
    if ('desiredCount' in svc) {
      out.push({
        pointer: at('desiredCount'),
        at: 'key',
        message: 'cannot be combined with autoscaling: the count of an autoscaled service belongs to Application Auto Scaling',
      });
    }
  }
  const discovery = obj(svc.discovery);
  if (discovery && ('name' in discovery) === ('tags' in discovery)) {
    out.push({ pointer: at('discovery'), at: 'value', message: 'needs exactly one of name or tags' });
  }
  const deployment = obj(svc.deployment);
  if (deployment && deployment.strategy === 'BLUE_GREEN' && !('bakeTimeMinutes' in deployment)) {
    out.push({ pointer: at('deployment', 'strategy'), at: 'value', message: 'BLUE_GREEN needs bakeTimeMinutes (ECS requires it for blue/green)' });
  }
}

/**
 * A model endpoint's URL: never credentials, a query string or a fragment (a key belongs in AI_AUTH's identity or
 * secret, not in a URL that is logged and reported); outside `dev`, https only and no loopback, private or
 * link-local address (the workers and the reconciler would send requests there).
 */
function checkEndpoint(pointer: string, endpoint: string, environment: string | undefined, out: Finding[]): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return; // the schema's format: uri reports it
  }
  if (url.username || url.password) out.push({ pointer, at: 'value', message: 'must not carry a user name or password: the workers authenticate with AI_AUTH (an identity, or a key in dev)' });
  if (url.search || endpoint.includes('?')) out.push({ pointer, at: 'value', message: 'must not carry a query string: an api-key there would be logged and reported; the API version is set by apiVersion / AI_API_VERSION' });
  if (url.hash || endpoint.includes('#')) out.push({ pointer, at: 'value', message: 'must not carry a fragment (#…)' });
  if (environment === 'dev') return;
  if (url.protocol !== 'https:') out.push({ pointer, at: 'value', message: `must be https outside dev (environment ${environment ?? 'unset'})` });
  if (isNonPublicHost(url.hostname)) out.push({ pointer, at: 'value', message: `must not be localhost or a loopback, private or link-local address outside dev (got ${url.hostname}): use the Foundry resource's host name` });
}

function checkModels(models: unknown[], environment: string | undefined, out: Finding[]): void {
  const firstIndex = new Map<string, number>();
  const served = new Set<string>();
  models.forEach((m, i) => {
    const model = obj(m);
    if (!model) return;
    const endpoint = str(model.endpoint);
    if (endpoint !== undefined) checkEndpoint(toPointer(['spec', 'azure', 'models', i, 'endpoint']), endpoint, environment, out);
    const maxOut = num(model.maxOutputTokens);
    const tpm = num(obj(model.quota)?.tokensPerMinute);
    if (maxOut !== undefined && tpm !== undefined && maxOut > tpm) {
      out.push({ pointer: toPointer(['spec', 'azure', 'models', i, 'maxOutputTokens']), at: 'value', message: `${maxOut} is more than quota.tokensPerMinute (${tpm}): a call reserves its prompt plus maxOutputTokens, so every call would be refused (request_exceeds_quota)` });
    }
    const name = str(model.name);
    if (name !== undefined) {
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, i);
      else out.push({ pointer: toPointer(['spec', 'azure', 'models', i, 'name']), at: 'value', message: `duplicate model name "${name}" (also at /spec/azure/models/${first}/name)` });
    }
    const uses = Array.isArray(model.use) ? model.use.filter((u): u is string => typeof u === 'string') : [];
    for (const u of uses) served.add(u);
    if (uses.includes('reasoning') && model.reasoning !== true) {
      out.push({ pointer: toPointer(['spec', 'azure', 'models', i, 'use']), at: 'value', message: 'use "reasoning" needs reasoning: true' });
    }
  });
  for (const use of REQUIRED_MODEL_USES) {
    if (!served.has(use)) out.push({ pointer: '/spec/azure/models', at: 'value', message: `no model serves use "${use}"` });
  }
}

function checkCron(pointer: string, expr: unknown, out: Finding[]): void {
  const s = str(expr);
  if (s === undefined) return;
  const r = validateDetailed(s);
  if (!r.valid) out.push({ pointer, at: 'value', message: `invalid cron "${s}": ${r.errors.map((e) => e.message).join('; ')}` });
}

/**
 * Checks min <= max, targets present, desiredCount vs autoscaling, discovery, BLUE_GREEN bake time, interval
 * syntax and bounds, unique model names, every required use served, model endpoints (no credentials, query or fragment; https
 * and no non-public address outside dev), maxOutputTokens within the TPM quota, and cron syntax (node-cron).
 * @param data the interpolated document as plain data (possibly schema-invalid).
 * @returns findings in document order of the rules (the caller sorts by position).
 */
export function semanticFindings(data: unknown): Finding[] {
  const out: Finding[] = [];
  const spec = obj(obj(data)?.spec);
  if (!spec) return out;
  const interval = obj(spec.management)?.interval;
  if (typeof interval === 'string') {
    const ms = tryParseDurationMs(interval);
    const pointer = '/spec/management/interval';
    if (ms === undefined) out.push({ pointer, at: 'value', message: `invalid duration "${interval}": use Go syntax like 60s, 5m, 1h30m` });
    else if (ms < INTERVAL_BOUNDS_MS.min || ms > INTERVAL_BOUNDS_MS.max) out.push({ pointer, at: 'value', message: `must be between 5s and 24h (got ${interval})` });
  }
  const services = obj(obj(spec.ecs)?.services);
  for (const [name, svc] of Object.entries(services ?? {})) {
    const s = obj(svc);
    if (s) checkService(name, s, out);
  }
  const models = obj(spec.azure)?.models;
  if (Array.isArray(models)) checkModels(models, str(obj(obj(data)?.metadata)?.environment), out);
  checkCron('/spec/backups/schedule', obj(spec.backups)?.schedule, out);
  checkCron('/spec/recoveryTests/schedule', obj(spec.recoveryTests)?.schedule, out);
  return out;
}
