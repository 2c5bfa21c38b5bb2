/**
 * YAML documents that remember where each value came from, so that a problem found in the parsed data can be
 * reported as `file:line:column /json/path`.
 *
 * Parsing uses `yaml`'s `parseDocument` with a `LineCounter` (yaml docs: "Options > lineCounter"). The parsed value
 * is plain JSON-like data. With `cloudFormation: true`, CloudFormation's short-form intrinsic tags (`!Ref X`,
 * `!GetAtt A.B`, `!Sub ...`, `!If [...]`, ...) become their long form (`{ Ref: X }`, `{ "Fn::GetAtt": [A, B] }`,
 * ...), as in the CloudFormation template reference ("Intrinsic function reference"), and JSON paths through the
 * long form (`/Resources/R/Properties/P/Fn::If/1`) still find the tagged YAML node.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, YAMLParseError, type Document, type Node } from 'yaml';
import type { Problem } from './errors.ts';

/** A syntax problem; `pointer` (RFC 6901) when the problem belongs to a path of the document (duplicate keys). */
export interface YamlProblem extends Problem {
  pointer?: string;
  /**
   * Set only for an error of YAML syntax proper (an unclosed bracket or quote, a tab or a wrong indentation; not a
   * duplicate key, a second document or an alias problem): where it is and what encloses it. The parser's later
   * errors often follow from its first one.
   */
  syntax?: SyntaxErrorPlace;
}

/** Where a YAML syntax error is, see {@link YamlProblem.syntax}. */
export interface SyntaxErrorPlace {
  /** 1-based position the `yaml` package gives the error. */
  position: SourcePosition;
  /** Source offset (UTF-16 code units) of the error. */
  offset: number;
  /**
   * JSON path of the deepest node of the partially parsed document that encloses the error: a mapping, a sequence,
   * a scalar the error is in (an unterminated quote), or an empty value the error's line is indented under (`key:`
   * then a line indented with a tab). `[]` when nothing does.
   */
  enclosing: PathSegment[];
}

/** A 1-based line and column in a source file. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One segment of a JSON path: an object key or an array index. */
export type PathSegment = string | number;

/** Result of {@link YamlSource.locate}. */
export interface Located {
  /** Position of the deepest node found on the path. */
  position: SourcePosition;
  /** How many segments of the path exist in the document (`path.length` when the whole path exists). */
  depth: number;
}

/** A parsed YAML file. */
export interface YamlSource {
  /** Path shown in problems: relative to the project root, `/` separators. */
  readonly file: string;
  /** The parsed value; `null` for an empty document. */
  readonly value: unknown;
  /**
   * Syntax errors and warnings (duplicate keys, unknown tags, ...), each at `file:line:column`; a duplicate key also
   * carries the JSON pointer of the duplicated key, and a syntax error the JSON path that encloses it (`syntax`).
   */
  readonly problems: YamlProblem[];
  /**
   * Finds the node at a JSON path. With `key: true` and a path ending in an object key, the position is the key's
   * (where an editor should put the cursor for "unknown field x"). A path that does not fully exist resolves to
   * its deepest existing ancestor; `depth` tells how far it got.
   */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): Located;
  /** True when every segment of `path` exists in the document. */
  has(path: readonly PathSegment[]): boolean;
  /** `file:line:column /json/pointer` for a JSON path (the pointer is the path as given, even if it doesn't exist). */
  where(path: readonly PathSegment[], options?: { key?: boolean }): string;
}

/** Options of {@link parseYamlSource}. */
export interface ParseYamlOptions {
  /** Accept CloudFormation short-form intrinsic function tags. Default false: any tag is reported. */
  cloudFormation?: boolean;
}

/**
 * The CloudFormation short-form tags and the long-form key each becomes (CloudFormation User Guide, "Intrinsic
 * function reference" and "Condition functions").
 */
const CFN_TAGS: ReadonlyMap<string, string> = new Map(
  ['Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Transform', 'If', 'Equals', 'Not', 'And', 'Or', 'Length', 'ToJsonString']
    .map((n): [string, string] => [`!${n}`, `Fn::${n}`])
    .concat([['!Ref', 'Ref'], ['!Condition', 'Condition']]),
);

/** Custom tag definitions that keep the tag on the node (scalar, sequence and mapping forms). */
const CFN_CUSTOM_TAGS = [...CFN_TAGS.keys()].flatMap((tag) => [
  { tag, resolve: (value: string) => value },
  { tag, collection: 'seq' as const, resolve: (value: unknown) => value },
  { tag, collection: 'map' as const, resolve: (value: unknown) => value },
]);

/** RFC 6901 JSON pointer of a path: `['a/b', 0]` → `/a~1b/0`. The empty path is `` (the whole document). */
export function jsonPointer(path: readonly PathSegment[]): string {
  return path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Inverse of {@link jsonPointer}; array indexes stay strings (lookups accept both). */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Parses YAML text. Never throws for bad YAML: syntax errors become {@link YamlSource.problems} and the value is
 * whatever could be recovered.
 * @param file the path to show in problems (relative to the project root).
 */
export function parseYamlSource(text: string, file: string, options: ParseYamlOptions = {}): YamlSource {
  const cfn = options.cloudFormation === true;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, customTags: cfn ? CFN_CUSTOM_TAGS : [] });
  const problems: YamlProblem[] = [];
  const duplicates = duplicateKeys(doc, lineCounter);
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = e.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    const duplicate = e.code === 'DUPLICATE_KEY' ? duplicates.get(e.pos[0]) : undefined;
    if (duplicate) {
      problems.push({ where, pointer: jsonPointer(duplicate.path), message: `duplicate key \`${duplicate.key}\` (first at line ${duplicate.firstLine}); a key may appear once per mapping` });
    } else if (e.code === 'MULTIPLE_DOCS') {
      problems.push({ where, message: 'a second YAML document starts here (`---`); this file must hold exactly one document: remove the separator or split the file' });
    } else {
      // yaml's message is `<what> at line L, column C:` then a code excerpt with a caret: keep the words only.
      const firstLine = e.message.split('\n')[0] ?? e.message;
      const problem: YamlProblem = { where, message: firstLine.replace(/ at line \d+, column \d+:?$/, '') };
      if (e instanceof YAMLParseError && e.code !== 'DUPLICATE_KEY') {
        const offset = e.pos[0];
        const p = pos ?? lineCounter.linePos(offset);
        problem.syntax = { position: { line: p.line, column: p.col }, offset, enclosing: enclosingPath(doc, text, offset, cfn) };
      }
      problems.push(problem);
    }
  }
  const positionOf = (node: Node | null | undefined): SourcePosition => {
    let offset = node?.range?.[0] ?? 0;
    const tag = node?.tag;
    if (typeof tag === 'string' && tag.startsWith('!')) {
      // A node's range starts after its tag: point at the tag (`!Ref X`) as written.
      const at = text.lastIndexOf(tag, offset);
      if (at >= 0 && /^\s*$/.test(text.slice(at + tag.length, offset))) offset = at;
    }
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  let value: unknown = null;
  try {
    value = toValue(doc, doc.contents, cfn, { resolved: 0, open: new Set() });
  } catch (err) {
    if (!(err instanceof AliasError)) throw err;
    const p = lineCounter.linePos(err.offset);
    problems.push({ where: `${file}:${p.line}:${p.col}`, message: err.message });
  }

  const locate = (path: readonly PathSegment[], opts: { key?: boolean } = {}): Located => {
    let node: unknown = doc.contents;
    let position = positionOf(doc.contents as Node | null);
    let depth = 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isAlias(node)) node = node.resolve(doc);
      const tag = (node as Node | null)?.tag;
      if (cfn && typeof tag === 'string' && CFN_TAGS.get(tag) === String(seg)) {
        depth++;
        continue; // `/Fn::If/1` walks through the tagged node itself
      }
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        depth++;
        const keyNode = pair.key as Node | null;
        const valueNode = pair.value as Node | null;
        position = (last && opts.key) || valueNode === null || valueNode?.range === undefined ? positionOf(keyNode) : positionOf(valueNode);
        node = valueNode;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)] as Node | undefined;
        if (item === undefined || !/^\d+$/.test(String(seg))) break;
        depth++;
        position = positionOf(item);
        node = item;
      } else break;
    }
    return { position, depth };
  };

  return {
    file,
    value,
    problems,
    locate,
    has: (path) => locate(path).depth === path.length,
    where: (path, opts) => {
      const { position } = locate(path, opts);
      return `${file}:${position.line}:${position.column} ${jsonPointer(path)}`;
    },
  };
}

/**
 * The JSON path of the deepest node that encloses a source offset, in the tree `yaml` built before and around a
 * syntax error (a Document with errors keeps a partial tree whose nodes have source ranges `[start, valueEnd,
 * nodeEnd]`). A node encloses the offset when `start <= offset <= valueEnd` (inclusive: an unclosed flow mapping
 * ends where the error is reported); an empty value (`key:` with nothing after it), and each collection it ends,
 * also encloses an offset that only whitespace separates from it, so a tab-indented line under `deployment:` is
 * inside `deployment` (the partial tree ends at the empty value).
 * Mapping keys are not descended into. With `cfn`, a CloudFormation-tagged node adds its long-form key
 * (`Fn::If`), as {@link YamlSource.locate} accepts.
 */
function enclosingPath(doc: Document, text: string, offset: number, cfn: boolean): PathSegment[] {
  /** True when the node is an empty value or a collection whose last value is (recursively) one. */
  const endsEmpty = (node: unknown): boolean => {
    if (!isNode(node) || !node.range) return false;
    const [start, valueEnd] = node.range;
    if (isScalar(node)) return node.value === null && start === valueEnd;
    const last: unknown = isMap(node) ? node.items.at(-1)?.value : isSeq(node) ? node.items.at(-1) : undefined;
    return isNode(last) && last.range?.[1] === valueEnd && endsEmpty(last);
  };
  const encloses = (node: unknown): boolean => {
    if (!isNode(node) || !node.range) return false;
    const [start, valueEnd] = node.range;
    if (offset < start) return false;
    return offset <= valueEnd || (endsEmpty(node) && /^\s*$/.test(text.slice(valueEnd, offset)));
  };
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    const tag = isNode(node) ? node.tag : undefined;
    const longForm = cfn && typeof tag === 'string' ? CFN_TAGS.get(tag) : undefined;
    let next: { segment: PathSegment; node: unknown } | undefined;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (encloses(pair.value)) next = { segment: isScalar(pair.key) ? String(pair.key.value) : String(pair.key), node: pair.value };
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (encloses(item)) next = { segment: i, node: item };
      });
    }
    if (next === undefined) return path;
    if (longForm !== undefined) path.push(longForm);
    path.push(next.segment);
    node = next.node;
  }
}

/** A repeated mapping key: its path (the duplicate's), the key as written, and the line of its first occurrence. */
interface DuplicateKey {
  path: PathSegment[];
  key: string;
  firstLine: number;
}

/**
 * Finds every repeated key of every mapping, by the source offset of the repeated key node (the offset that `yaml`
 * gives its DUPLICATE_KEY error), so that the error can name the key and its JSON path.
 */
function duplicateKeys(doc: Document, lineCounter: LineCounter): Map<number, DuplicateKey> {
  const found = new Map<number, DuplicateKey>();
  const seen = new Set<unknown>();
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (isMap(node)) {
      const first = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const offset = (pair.key as Node | null)?.range?.[0] ?? 0;
        const earlier = first.get(key);
        if (earlier === undefined) first.set(key, offset);
        else found.set(offset, { path: [...path, key], key, firstLine: lineCounter.linePos(earlier).line });
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(doc.contents, []);
  return found;
}

/**
 * Most alias expansions one document may make. `yaml`'s own toJS has the same guard (maxAliasCount, 100 by
 * default) against "billion laughs" documents, where a few hundred bytes of nested aliases expand to gigabytes; our
 * converter walks the AST itself, so it needs its own. Real desired-state and Copilot files use none or a handful.
 */
export const MAX_ALIAS_EXPANSIONS = 100;

/** An alias that refers to itself, or one expansion too many: reported at the alias, never thrown to the caller. */
class AliasError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** Alias bookkeeping of one conversion: expansions so far and the anchors being expanded (to find cycles). */
interface AliasBudget {
  resolved: number;
  open: Set<unknown>;
}

/**
 * Converts the YAML AST to plain data, turning CloudFormation tags into their long form.
 * @throws AliasError for a self-referencing alias or more than {@link MAX_ALIAS_EXPANSIONS} expansions.
 */
function toValue(doc: Document, node: unknown, cfn: boolean, aliases: AliasBudget): unknown {
  const recurse = (n: unknown): unknown => toValue(doc, n, cfn, aliases);
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    const offset = node.range?.[0] ?? 0;
    const target = node.resolve(doc);
    if (aliases.open.has(target)) throw new AliasError(`alias *${node.source} refers to a node that contains it (a cycle)`, offset);
    if (++aliases.resolved > MAX_ALIAS_EXPANSIONS) {
      throw new AliasError(`more than ${MAX_ALIAS_EXPANSIONS} alias expansions (*${node.source} and the aliases inside it); write the values out instead`, offset);
    }
    aliases.open.add(target);
    try {
      return recurse(target);
    } finally {
      aliases.open.delete(target);
    }
  }
  let plain: unknown;
  if (isScalar(node)) plain = node.value;
  else if (isMap(node)) {
    const obj: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(recurse(pair.key));
      obj[key] = recurse(pair.value);
    }
    plain = obj;
  } else if (isSeq(node)) plain = node.items.map((item) => recurse(item));
  else return null;
  const tag = (node as Node).tag;
  if (!cfn || typeof tag !== 'string' || tag.startsWith('tag:yaml.org,2002:')) return plain;
  const longForm = CFN_TAGS.get(tag);
  if (longForm === undefined) return plain; // already reported by yaml as an unresolved tag
  if (longForm === 'Fn::GetAtt' && typeof plain === 'string') {
    const dot = plain.indexOf('.');
    return { [longForm]: dot < 0 ? [plain] : [plain.slice(0, dot), plain.slice(dot + 1)] };
  }
  return { [longForm]: plain };
}
