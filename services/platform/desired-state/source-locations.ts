/**
 * Maps a JSON pointer (as ajv reports it, e.g. `/spec/ecs/services/api/autoscaling/min`) back to the line and
 * column of a parsed YAML document, so every problem can name `file:line:column` as well as the path.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Splits a JSON pointer into unescaped segments (`~1` → `/`, `~0` → `~`). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Joins segments into a JSON pointer; the root is written `/`. */
export function toPointer(segments: readonly (string | number)[]): string {
  if (segments.length === 0) return '/';
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Finds the source positions of documents' nodes. */
export class SourceLocator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Position of a character offset. */
  positionOf(offset: number): SourcePosition {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /**
   * Position of the value at `pointer`, or of its key when `at` is `key` (an unknown key should point at the
   * key, not its value). When the path does not exist in full, the deepest existing node is used; a key with
   * no value falls back to the key itself.
   */
  locate(pointer: string, at: 'value' | 'key' = 'value'): SourcePosition {
    let node: unknown = this.doc.contents;
    let lastOffset = 0;
    const startOf = (n: unknown): number | undefined => (n && typeof n === 'object' && 'range' in n ? (n as Node).range?.[0] : undefined);
    lastOffset = startOf(node) ?? 0;
    const segments = pointerSegments(pointer);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const last = i === segments.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
        if (!pair) break;
        const keyStart = startOf(pair.key);
        if (last && at === 'key' && keyStart !== undefined) return this.positionOf(keyStart);
        node = pair.value;
        const valueStart = startOf(node);
        lastOffset = valueStart ?? keyStart ?? lastOffset;
      } else if (isSeq(node)) {
        const item: unknown = node.items[Number(seg)];
        if (item === undefined) break;
        node = item;
        lastOffset = startOf(node) ?? lastOffset;
      } else {
        break;
      }
    }
    return this.positionOf(lastOffset);
  }
}
