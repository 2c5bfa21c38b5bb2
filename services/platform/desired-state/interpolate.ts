/**
 * `${VAR}` and `${VAR:-default}` interpolation of the string values of a parsed document, the convention
 * Copilot manifests use (reference/copilot-manifests.md §2). Keys are never interpolated, and neither are
 * numbers or booleans. As in POSIX sh, `:-` also applies the default when the variable is set but empty.
 * A `$` not followed by `{` is literal.
 */
import type { PathSegment } from '../yaml-source.ts';

/** A reference that could not be resolved, at the JSON path of its string. */
export interface InterpolationProblem {
  path: PathSegment[];
  message: string;
}

const REFERENCE = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces references in one string.
 * @returns the new string and the problems (unset variable without default, bad name, unterminated `${`).
 */
export function interpolateString(text: string, vars: Readonly<Record<string, string>>): { value: string; problems: string[] } {
  const problems: string[] = [];
  const value = text.replace(REFERENCE, (whole, inner: string) => {
    const sep = inner.indexOf(':-');
    const name = sep === -1 ? inner : inner.slice(0, sep);
    if (!NAME.test(name)) {
      problems.push(`invalid variable reference "${whole}": the name must match [A-Za-z_][A-Za-z0-9_]*`);
      return whole;
    }
    const set = vars[name];
    if (set !== undefined && set !== '') return set;
    if (sep !== -1) return inner.slice(sep + 2);
    if (set === '') return '';
    problems.push(`variable ${name} is not set and "${whole}" has no default (write \${${name}:-default})`);
    return whole;
  });
  if (text.replace(REFERENCE, '').includes('${')) problems.push(`unterminated variable reference in "${text}"`);
  return { value, problems };
}

/**
 * Returns a copy of `value` with every string interpolated.
 * @param vars the environment snapshot (`Config.interpolationEnv`, or a test's map).
 * @returns the new value, and one problem per failed reference (the string keeps the unresolved text there).
 */
export function interpolateValue(value: unknown, vars: Readonly<Record<string, string>>): { value: unknown; problems: InterpolationProblem[] } {
  const problems: InterpolationProblem[] = [];
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v;
      const r = interpolateString(v, vars);
      for (const message of r.problems) problems.push({ path, message });
      return r.value;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...path, k]);
      return out;
    }
    return v;
  };
  return { value: walk(value, []), problems };
}
