/**
 * `${VAR}` and `${VAR:-default}` interpolation of the string scalars of a parsed YAML document, in place, the
 * convention Copilot manifests use (reference/copilot-manifests.md §2). Keys are never interpolated, and
 * neither are numbers or booleans. As in POSIX sh, `:-` also applies the default when the variable is set but
 * empty. A `$` not followed by `{` is literal.
 */
import { isPair, isScalar, isSeq, visit, type Document } from 'yaml';
import { toPointer } from './source-locations.ts';

/** A variable reference that could not be resolved, with the offset of its scalar in the source. */
export interface InterpolationProblem {
  /** Character offset of the scalar in the source text. */
  offset: number;
  /** JSON pointer of the scalar. */
  pointer: string;
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
  const rest = text.replace(REFERENCE, '');
  if (rest.includes('${')) problems.push(`unterminated variable reference in "${text}"`);
  return { value, problems };
}

/**
 * Interpolates every string scalar value of `doc` in place.
 * @param vars the environment snapshot (`Config.interpolationEnv`, or a test's map).
 * @returns one problem per failed reference; the document keeps the unresolved text there.
 */
export function interpolateDocument(doc: Document, vars: Readonly<Record<string, string>>): InterpolationProblem[] {
  const problems: InterpolationProblem[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const r = interpolateString(node.value, vars);
      node.value = r.value;
      const offset = node.range?.[0] ?? 0;
      const pointer = pointerOf([...ancestors, node]);
      for (const message of r.problems) problems.push({ offset, pointer, message });
    },
  });
  return problems;
}


/** JSON pointer of the last node of a `visit` ancestor chain (pairs give their key, sequences the index). */
function pointerOf(chain: readonly unknown[]): string {
  const segments: (string | number)[] = [];
  chain.forEach((node, i) => {
    if (isPair(node)) segments.push(isScalar(node.key) ? String(node.key.value) : String(node.key));
    else if (isSeq(node)) segments.push(node.items.indexOf(chain[i + 1] as never));
  });
  return toPointer(segments);
}
