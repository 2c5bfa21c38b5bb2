/**
 * Copilot's `${VAR}` interpolation (shared/reference/copilot-manifests.md §2): at deploy time Copilot replaces
 * `${NAME}` in string values (not map keys) with the shell environment's value, and predefines
 * `COPILOT_APPLICATION_NAME` and `COPILOT_ENVIRONMENT_NAME`.
 *
 * For validation we never require the variables to be set: a name without a value stays in the text as the
 * placeholder `${NAME}`, and the schema check treats such strings as "known at deploy time" (see schema-check.ts).
 */

/** Names Copilot defines itself. */
export const PREDEFINED_VARIABLES = ['COPILOT_APPLICATION_NAME', 'COPILOT_ENVIRONMENT_NAME'] as const;

const VAR = /\$\{(\w+)\}/g;

/** True when `text` still holds a `${NAME}` placeholder. */
export function hasPlaceholder(text: string): boolean {
  return /\$\{\w+\}/.test(text);
}

/** Result of {@link interpolate}. */
export interface Interpolated<T> {
  value: T;
  /** Names left as placeholders because `vars` had no value for them, sorted, without duplicates. */
  unresolved: string[];
}

/**
 * Replaces `${NAME}` in every string value of `value` (recursively; map keys untouched) by `vars[NAME]`.
 * Names missing from `vars` are kept as `${NAME}`. The input is not modified.
 */
export function interpolate<T>(value: T, vars: Readonly<Record<string, string>>): Interpolated<T> {
  const unresolved = new Set<string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(VAR, (whole, name: string) => {
        const found = vars[name];
        if (found === undefined) {
          unresolved.add(name);
          return whole;
        }
        return found;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const out = walk(value) as T;
  return { value: out, unresolved: [...unresolved].sort() };
}

/** Every `${NAME}` referenced by string values of `value`, sorted, without duplicates. */
export function referencedVariables(value: unknown): string[] {
  return interpolate(value, {}).unresolved;
}
