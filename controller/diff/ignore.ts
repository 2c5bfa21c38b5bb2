/**
 * `spec.management.ignore`: JSON pointers into the desired-state document whose drift is dropped, like Argo CD's
 * `ignoreDifferences.jsonPointers` (reference/operator-anchors.md §4). A pattern matches a drift path when it
 * is equal to it or a parent of it, segment by segment; `*` matches exactly one segment.
 */
import type { Drift } from '../types.ts';

/** Whether `pattern` (e.g. `/spec/ecs/services/*\/deployment`) covers `path`. */
export function ignoreMatches(pattern: string, path: string): boolean {
  const p = pattern.split('/').slice(1);
  const s = path.split('/').slice(1);
  if (p.length > s.length) return false;
  return p.every((seg, i) => seg === '*' || seg === s[i]);
}

/** Splits drifts into those kept and those an ignore pattern covers. Order is preserved. */
export function applyIgnore(drifts: readonly Drift[], patterns: readonly string[]): { kept: Drift[]; ignored: Drift[] } {
  const kept: Drift[] = [];
  const ignored: Drift[] = [];
  for (const d of drifts) (patterns.some((p) => ignoreMatches(p, d.path)) ? ignored : kept).push(d);
  return { kept, ignored };
}
