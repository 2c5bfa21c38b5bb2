/**
 * The AWS Copilot application in `copilot/`, loaded and checked without the `copilot` binary. Used by the
 * manifest tests and by `trendctl lint`.
 *
 * - {@link loadCopilotApp} reads `.workspace`, `environments/<env>/manifest.yml`, `<svc>/manifest.yml`, and the
 *   addons of both, keeping each file's source positions.
 * - {@link mergeEnvironment} applies a workload's `environments.<env>` override (Copilot's semantics: maps merge
 *   field by field, lists and `count` are replaced).
 * - {@link validateCopilotApp} checks every file against `schemas/copilot/*.schema.json`, each workload again in
 *   every environment's merged view, the variables against `schemas/runtime-config.schema.json`, the addons, and
 *   the rules that span files. Each problem reads `{ where: 'copilot/api/manifest.yml:12:3 /count/range', message }`.
 *
 * Layout and rules: shared/reference/copilot-manifests.md (aws/copilot-cli docs and validators, snapshot 4c858e7).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Problem } from './errors.ts';
import { jsonPointer, parseYamlSource, type PathSegment, type YamlSource } from './yaml-source.ts';
import { checkAddonDirectory } from './copilot/addons.ts';
import { interpolate } from './copilot/interpolation.ts';
import { isPlainObject, mergeEnvironment, type PlainObject } from './copilot/merge.ts';
import { checkRuntimeVariables, runtimeRoles } from './copilot/runtime-variables.ts';
import { checkAgainstSchema, WORKLOAD_SCHEMAS, type SchemaKind } from './copilot/schema-check.ts';

export { mergeEnvironment } from './copilot/merge.ts';
export { interpolate, referencedVariables } from './copilot/interpolation.ts';

/** `copilot/environments/<name>/manifest.yml`. */
export interface CopilotEnvironment {
  /** The directory name (Copilot's environment name). */
  name: string;
  source: YamlSource;
  /** The parsed manifest, not interpolated (`{}` when the file is not a map). */
  manifest: PlainObject;
}

/** `copilot/<name>/manifest.yml` and its addons. */
export interface CopilotService {
  /** The directory name (Copilot's workload name). */
  name: string;
  /** The manifest's `type`, e.g. `Load Balanced Web Service`. */
  type: string | undefined;
  source: YamlSource;
  /** The parsed manifest, not interpolated, overrides included (`{}` when the file is not a map). */
  manifest: PlainObject;
  /** `copilot/<name>/addons/*.yml` templates (parameters file excluded). */
  addons: YamlSource[];
  /** `copilot/<name>/addons/addons.parameters.yml`, when present. */
  addonParameters: YamlSource | undefined;
}

/** A loaded Copilot application. */
export interface CopilotApp {
  /** The project root (the directory holding `copilot/`). */
  rootDir: string;
  /** `application` from `copilot/.workspace`. */
  application: string | undefined;
  workspace: YamlSource | undefined;
  environments: CopilotEnvironment[];
  services: CopilotService[];
  /** `copilot/environments/addons/*.yml` templates. */
  environmentAddons: YamlSource[];
  environmentAddonParameters: YamlSource | undefined;
  /** Problems met while loading (missing files, YAML syntax); {@link validateCopilotApp} includes them. */
  problems: Problem[];
}

/** Options of {@link validateCopilotApp}. */
export interface ValidateOptions {
  /**
   * Values for `${VAR}` placeholders (e.g. a CI job's real VPC id). Unset names stay placeholders and their
   * values are checked only for presence, not shape. Never required.
   */
  variables?: Readonly<Record<string, string>>;
}

const PARAMETER_FILES = new Set(['addons.parameters.yml', 'addons.parameters.yaml']);
const NOT_WORKLOADS = new Set(['environments', 'pipelines']);

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/**
 * Reads the Copilot application under `rootDir/copilot`. Never throws for bad content: unreadable or malformed
 * files are reported in `problems` and loaded as far as possible.
 * @throws only on I/O errors other than "missing" (permissions, ...).
 */
export function loadCopilotApp(rootDir: string): CopilotApp {
  const problems: Problem[] = [];
  const rel = (abs: string): string => relative(rootDir, abs).split(sep).join('/');
  const read = (abs: string, cloudFormation = false): YamlSource => {
    const src = parseYamlSource(readFileSync(abs, 'utf8'), rel(abs), { cloudFormation });
    problems.push(...src.problems.map((p) => (p.pointer ? { where: `${p.where} ${p.pointer}`, message: p.message } : { where: p.where, message: p.message })));
    return src;
  };
  const mapOf = (src: YamlSource): PlainObject => {
    if (isPlainObject(src.value)) return src.value;
    problems.push({ where: src.where([]), message: 'must be a YAML map' });
    return {};
  };
  const addonsIn = (dir: string): { templates: YamlSource[]; parameters: YamlSource | undefined } => {
    const files = listDir(dir).filter((f) => /\.ya?ml$/.test(f));
    const paramFiles = files.filter((f) => PARAMETER_FILES.has(f));
    if (paramFiles.length > 1) problems.push({ where: rel(join(dir, paramFiles[1]!)), message: 'only one of addons.parameters.yml and addons.parameters.yaml may exist' });
    return {
      templates: files.filter((f) => !PARAMETER_FILES.has(f)).map((f) => read(join(dir, f), true)),
      parameters: paramFiles[0] === undefined ? undefined : read(join(dir, paramFiles[0]), true),
    };
  };

  const copilotDir = join(rootDir, 'copilot');
  const app: CopilotApp = {
    rootDir, application: undefined, workspace: undefined, environments: [], services: [],
    environmentAddons: [], environmentAddonParameters: undefined, problems,
  };
  if (!isDir(copilotDir)) {
    problems.push({ where: 'copilot/', message: 'no copilot/ directory: this is not a Copilot workspace' });
    return app;
  }
  const wsPath = join(copilotDir, '.workspace');
  if (existsSync(wsPath)) {
    app.workspace = read(wsPath);
    const ws = mapOf(app.workspace);
    if (typeof ws.application === 'string') app.application = ws.application;
  } else problems.push({ where: 'copilot/.workspace', message: 'missing: it names the application (`application: <name>`)' });

  const envDir = join(copilotDir, 'environments');
  for (const name of listDir(envDir)) {
    const manifestPath = join(envDir, name, 'manifest.yml');
    if (name === 'addons' || !isDir(join(envDir, name))) continue;
    if (!existsSync(manifestPath)) continue;
    const source = read(manifestPath);
    app.environments.push({ name, source, manifest: mapOf(source) });
  }
  const envAddons = addonsIn(join(envDir, 'addons'));
  app.environmentAddons = envAddons.templates;
  app.environmentAddonParameters = envAddons.parameters;

  for (const name of listDir(copilotDir)) {
    const dir = join(copilotDir, name);
    if (NOT_WORKLOADS.has(name) || name.startsWith('.') || !isDir(dir) || !existsSync(join(dir, 'manifest.yml'))) continue;
    const source = read(join(dir, 'manifest.yml'));
    const manifest = mapOf(source);
    const addons = addonsIn(join(dir, 'addons'));
    app.services.push({
      name, type: typeof manifest.type === 'string' ? manifest.type : undefined, source, manifest,
      addons: addons.templates, addonParameters: addons.parameters,
    });
  }
  return app;
}

/** Values for `${VAR}` in one view: Copilot's predefined names plus the caller's. */
function viewVariables(app: CopilotApp, env: string | undefined, extra: Readonly<Record<string, string>>): Record<string, string> {
  const vars: Record<string, string> = { ...extra };
  if (app.application !== undefined) vars.COPILOT_APPLICATION_NAME = app.application;
  if (env !== undefined) vars.COPILOT_ENVIRONMENT_NAME = env;
  return vars;
}

/**
 * The manifest of `service` as Copilot deploys it to `env`: overrides merged, `${VAR}` interpolated
 * (unset names stay `${NAME}`; `unresolved` lists them).
 */
export function environmentView(app: CopilotApp, service: CopilotService, env: string, variables: Readonly<Record<string, string>> = {}): { manifest: PlainObject; unresolved: string[] } {
  const merged = mergeEnvironment(service.manifest, env);
  const { value, unresolved } = interpolate(merged, viewVariables(app, env, variables));
  return { manifest: value, unresolved };
}

/**
 * `file:line:column /pointer` of a path in a workload's merged view for `env`: the override's line when the value
 * comes from `environments.<env>`, the base's otherwise.
 */
export function whereInView(service: CopilotService, env: string, path: readonly PathSegment[], key = false): string {
  const src = service.source;
  const overridePath = ['environments', env, ...path];
  const o = src.locate(overridePath, { key });
  const b = src.locate(path, { key });
  const oRel = o.depth - 2;
  const useOverride = o.depth === overridePath.length || (b.depth !== path.length && oRel >= 1 && oRel >= b.depth);
  return src.where(useOverride ? overridePath : path, { key });
}

/** Collects problems from several views of the same files, dropping repeats and naming the environments. */
class ProblemCollector {
  private readonly found = new Map<string, { where: string; message: string; envs: Set<string>; everywhere: boolean }>();
  add(where: string, message: string, env?: string): void {
    const id = `${where}\u0000${message}`;
    let f = this.found.get(id);
    if (!f) {
      f = { where, message, envs: new Set(), everywhere: false };
      this.found.set(id, f);
    }
    if (env === undefined) f.everywhere = true;
    else f.envs.add(env);
  }
  addAll(problems: readonly Problem[]): void {
    for (const p of problems) this.add(p.where, p.message);
  }
  /** Problems sorted by file, line, column; a message seen only in some environments says which. */
  result(allEnvs: readonly string[]): Problem[] {
    const out = [...this.found.values()].map((f) => {
      const some = !f.everywhere && f.envs.size > 0 && f.envs.size < allEnvs.length;
      const envs = allEnvs.filter((e) => f.envs.has(e));
      return { where: f.where, message: some ? `${f.message} (environment${envs.length > 1 ? 's' : ''} ${envs.join(', ')})` : f.message };
    });
    const key = (w: string): [string, number, number] => {
      const m = /^(.*?):(\d+):(\d+)/.exec(w);
      return m ? [m[1]!, Number(m[2]), Number(m[3])] : [w, 0, 0];
    };
    return out.sort((a, b) => {
      const [fa, la, ca] = key(a.where);
      const [fb, lb, cb] = key(b.where);
      return fa.localeCompare(fb) || la - lb || ca - cb || a.message.localeCompare(b.message);
    });
  }
}

const NAME_RULE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Reads `count.range` as [min, max] when it is literal. */
function rangeOf(count: unknown): [number, number] | undefined {
  if (!isPlainObject(count)) return undefined;
  const r = count.range;
  if (typeof r === 'string') {
    const m = /^(\d+)-(\d+)$/.exec(r);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  }
  if (isPlainObject(r) && typeof r.min === 'number' && typeof r.max === 'number') return [r.min, r.max];
  return undefined;
}

function get(obj: unknown, ...path: string[]): unknown {
  let v = obj;
  for (const p of path) v = isPlainObject(v) ? v[p] : undefined;
  return v;
}

/**
 * Checks the whole application. Returns every problem (empty when valid), sorted by file and position; never
 * throws for bad content. A problem found only in some environments' merged views ends with
 * `(environment production)`.
 */
export function validateCopilotApp(app: CopilotApp, options: ValidateOptions = {}): Problem[] {
  const extra = options.variables ?? {};
  const out = new ProblemCollector();
  out.addAll(app.problems);
  const envNames = app.environments.map((e) => e.name);

  if (app.workspace && app.application === undefined) out.add(app.workspace.where([]), 'missing required field `application`');
  if (app.application !== undefined && !NAME_RULE.test(app.application)) {
    out.add(app.workspace!.where(['application']), 'must be lowercase letters and digits with single hyphens, starting with a letter (Copilot name rule)');
  }

  const envManifests = new Map<string, PlainObject>();
  for (const env of app.environments) {
    const { value } = interpolate(env.manifest, viewVariables(app, env.name, extra));
    envManifests.set(env.name, value);
    for (const i of checkAgainstSchema('environment', value)) out.add(env.source.where(i.path, { key: i.key }), i.message);
    if (typeof env.manifest.name === 'string' && env.manifest.name !== env.name) {
      out.add(env.source.where(['name']), `must be \`${env.name}\`, the name of its directory copilot/environments/${env.name}/`);
    }
  }
  if (app.environmentAddons.length > 0 || app.environmentAddonParameters) {
    out.addAll(checkAddonDirectory('environment', app.environmentAddons, app.environmentAddonParameters));
  }

  const roles = new Set(runtimeRoles());
  const httpPaths = new Map<string, string>(); // `${env}\0${path}` → service
  for (const svc of app.services) {
    const kind: SchemaKind | undefined = svc.type === undefined ? undefined : WORKLOAD_SCHEMAS[svc.type];
    if (svc.type === undefined) out.add(svc.source.where([]), 'missing required field `type`');
    else if (kind === undefined) {
      out.add(svc.source.where(['type']), `type "${svc.type}" has no schema here: this project uses ${Object.keys(WORKLOAD_SCHEMAS).map((t) => `"${t}"`).join(' and ')}`);
    }
    if (typeof svc.manifest.name === 'string' && svc.manifest.name !== svc.name) {
      out.add(svc.source.where(['name']), `must be \`${svc.name}\`, the name of its directory copilot/${svc.name}/`);
    }
    const overrides = svc.manifest.environments;
    if (isPlainObject(overrides)) {
      for (const env of Object.keys(overrides)) {
        if (!envNames.includes(env)) out.add(svc.source.where(['environments', env], { key: true }), `no environment \`${env}\`: copilot/environments/ has ${envNames.join(', ') || 'none'}`);
      }
    }
    if (kind !== undefined) {
      const base = interpolate(svc.manifest, viewVariables(app, undefined, extra)).value;
      for (const i of checkAgainstSchema(kind, base)) out.add(svc.source.where(i.path, { key: i.key }), i.message);
    }
    const role = roles.has(svc.name) ? svc.name : undefined;
    const views: Array<{ env: string | undefined; manifest: PlainObject }> = envNames.length > 0
      ? envNames.map((env) => ({ env, manifest: environmentView(app, svc, env, extra).manifest }))
      : [{ env: undefined, manifest: interpolate(svc.manifest, viewVariables(app, undefined, extra)).value }];
    for (const view of views) {
      const where = (path: readonly PathSegment[], key = false): string => (view.env === undefined ? svc.source.where(path, { key }) : whereInView(svc, view.env, path, key));
      if (kind !== undefined && view.env !== undefined) {
        for (const i of checkAgainstSchema(kind, view.manifest)) out.add(where(i.path, i.key), i.message, view.env);
      }
      for (const i of checkRuntimeVariables({ role, manifest: view.manifest })) out.add(where(i.path, i.key), i.message, view.env);
      const range = rangeOf(view.manifest.count);
      if (range && range[0] > range[1]) out.add(where(['count', 'range']), `min ${range[0]} is above max ${range[1]}`, view.env);
      if (view.env === undefined) continue;
      const envManifest = envManifests.get(view.env) ?? {};
      if (get(view.manifest, 'network', 'vpc', 'placement') === 'private') {
        const privateSubnets = get(envManifest, 'network', 'vpc', 'subnets', 'private');
        const imported = get(envManifest, 'network', 'vpc', 'id') !== undefined;
        if (imported && !(Array.isArray(privateSubnets) && privateSubnets.length > 0)) {
          out.add(where(['network', 'vpc', 'placement']), `private placement needs private subnets, but copilot/environments/${view.env}/manifest.yml imports none`, view.env);
        }
      }
      const http = view.manifest.http;
      if (svc.type === 'Load Balanced Web Service' && isPlainObject(http)) {
        const certs = get(envManifest, 'http', 'public', 'certificates');
        if (http.alias !== undefined && !(Array.isArray(certs) && certs.length > 0)) {
          out.add(where(['http', 'alias']), `an HTTPS alias needs http.public.certificates in copilot/environments/${view.env}/manifest.yml (the application has no Copilot-managed domain)`, view.env);
        }
        if (typeof http.path === 'string') {
          const id = `${view.env}\u0000${http.path}`;
          const other = httpPaths.get(id);
          if (other !== undefined && other !== svc.name) out.add(where(['http', 'path']), `path ${http.path} is already routed to \`${other}\` on the same load balancer`, view.env);
          else httpPaths.set(id, svc.name);
        }
      }
    }
    if (svc.addons.length > 0 || svc.addonParameters) out.addAll(checkAddonDirectory('workload', svc.addons, svc.addonParameters));
  }
  return out.result(envNames);
}

/** `jsonPointer` re-exported for callers formatting their own locations. */
export { jsonPointer };
