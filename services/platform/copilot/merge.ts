/**
 * Copilot's environment overrides: `environments.<env>` in a workload manifest is a partial manifest merged over
 * the base when deploying to that environment (shared/reference/copilot-manifests.md §2):
 * - maps merge field by field, recursively;
 * - lists, scalars and "union" fields are replaced wholesale: `count` (a number or a map), each entry of
 *   `variables` and `secrets` (a string or a `{from_cfn}`/`{secretsmanager}` map), and any field whose base and
 *   override are not both maps (`http: false` over a map, `image.build` string over a map, ...);
 * - `image.build` and `image.location` exclude each other: setting one in an override drops the other;
 * - a `null` override value leaves the base value alone (Copilot's YAML decoding omits empty fields).
 */

/** A YAML/JSON map. */
export type PlainObject = Record<string, unknown>;

/** True for a plain map (not null, not a list). */
export function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Pairs of fields where setting one in an override removes the other from the merged map, by parent path. */
const EXCLUSIVE: ReadonlyArray<{ parent: string; fields: [string, string] }> = [{ parent: 'image', fields: ['build', 'location'] }];

function replacedWholesale(path: readonly string[]): boolean {
  if (path.length === 1 && path[0] === 'count') return true;
  const parent = path[path.length - 2];
  return parent === 'variables' || parent === 'secrets';
}

function cloneValue<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

function mergeValue(base: unknown, override: unknown, path: string[]): unknown {
  if (override === null || override === undefined) return cloneValue(base);
  if (replacedWholesale(path) || !isPlainObject(base) || !isPlainObject(override)) return cloneValue(override);
  const out: PlainObject = cloneValue(base);
  const parent = path.join('.');
  for (const [key, value] of Object.entries(override)) {
    if (value === null || value === undefined) continue;
    out[key] = mergeValue(base[key], value, [...path, key]);
    for (const rule of EXCLUSIVE) {
      if (rule.parent !== parent || !rule.fields.includes(key)) continue;
      for (const other of rule.fields) if (other !== key && !(other in override)) delete out[other];
    }
  }
  return out;
}

/**
 * The manifest Copilot deploys to `env`: the base (without `environments`) with `environments.<env>` merged over
 * it by the rules above. Inputs are not modified. An environment without an override gets a copy of the base.
 */
export function mergeEnvironment(manifest: PlainObject, env: string): PlainObject {
  const { environments, ...base } = manifest;
  const override = isPlainObject(environments) ? environments[env] : undefined;
  return mergeValue(base, isPlainObject(override) ? override : undefined, []) as PlainObject;
}

