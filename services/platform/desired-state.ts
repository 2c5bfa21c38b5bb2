/**
 * Loader of desired-state documents (`desired-state/<env>.yml`): the reconciler's "custom resource", and the
 * model registry the worker reads. Shared by `controller/` and `services/`.
 *
 * Stages, each reporting every problem it finds with `file:line:column` and the JSON path:
 * 1. YAML parse (`yaml-source.ts`: `yaml` parseDocument + LineCounter): syntax errors, duplicate keys, empty
 *    document;
 * 2. `${VAR}` / `${VAR:-default}` interpolation of string scalars (Copilot's convention);
 * 3. JSON Schema (`schemas/desired-state.schema.json`, ajv): unknown keys point at the key;
 * 4. semantic rules the schema cannot express (`desired-state/semantic-checks.ts`), and, for a file named
 *    `desired-state/<env>.yml`, `metadata.environment` must be `<env>` (`desired-state/file-environment.ts`).
 * Stage 1 failures stop there (positions after a syntax error are unreliable), and a syntax error is reported once,
 * at the JSON path that encloses it (see `yamlProblems`); stages 2–4 all run.
 */
import { readFile, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ValidationError, errorMessage, type Problem } from './errors.ts';
import { parseJsonPointer, parseYamlSource, jsonPointer, type PathSegment, type YamlProblem, type YamlSource } from './yaml-source.ts';
import { interpolateValue } from './desired-state/interpolate.ts';
import { schemaFindings, type Finding } from './desired-state/schema-errors.ts';
import { semanticFindings } from './desired-state/semantic-checks.ts';
import { ENVIRONMENT_POINTER, fileEnvironmentFindings } from './desired-state/file-environment.ts';
import type { DesiredState } from './desired-state/types.ts';

export type * from './desired-state/types.ts';
export { parseDurationMs, formatDurationMs } from './desired-state/duration.ts';

/** Largest desired-state file accepted, in bytes: a real document is a few KiB. */
export const MAX_DESIRED_STATE_BYTES = 1_048_576;

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const schemaPath = fileURLToPath(new URL('../../schemas/desired-state.schema.json', import.meta.url));
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
addFormats(ajv);
const validateSchema = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

/** A problem with its parts kept apart (the `where` of {@link Problem} is `file:line:column pointer`). */
export interface DesiredStateProblem extends Problem {
  file: string;
  line: number;
  column: number;
  /** JSON pointer into the document, `/` for the whole document. */
  pointer: string;
}

function problem(file: string, line: number, column: number, pointer: string, message: string): DesiredStateProblem {
  return { file, line, column, pointer, message, where: `${file}:${line}:${column} ${pointer}` };
}

function fail(file: string, problems: DesiredStateProblem[]): never {
  problems.sort((a, b) => a.line - b.line || a.column - b.column || a.pointer.localeCompare(b.pointer));
  const n = problems.length;
  throw new ValidationError(`invalid desired state ${file} (${n} problem${n === 1 ? '' : 's'}):`, problems, 'invalid_desired_state');
}

/** A problem at a JSON path of the source (`key`: point at the key rather than the value). */
function at(source: YamlSource, path: readonly PathSegment[], message: string, key = false): DesiredStateProblem {
  const { position } = source.locate(path, { key });
  return problem(source.file, position.line, position.column, path.length === 0 ? '/' : jsonPointer(path), message);
}

/** `file:12:5` (what yaml-source gives syntax problems) → line and column. */
function lineColumn(where: string): { line: number; column: number } {
  const m = /:(\d+):(\d+)$/.exec(where);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : { line: 1, column: 1 };
}

/**
 * The problems of stage 1 (YAML parse). A syntax error is reported once: the first one in the file (by position;
 * `yaml`'s order on a tie), at the JSON path that encloses it ({@link YamlProblem.syntax}), with how many YAML
 * errors come after it, because the parser's later errors mostly cascade from its first (one tab can give a
 * dozen). Other YAML problems (duplicate keys, a second document, aliases) are each a mistake of their own and are
 * all listed, except those after a syntax error, whose positions are unreliable (they are counted).
 * @returns problems in source order, each `YAML: <yaml's message without its code excerpt>`.
 */
function yamlProblems(source: YamlSource): DesiredStateProblem[] {
  const all = source.problems.map((p: YamlProblem) => {
    const { line, column } = p.syntax?.position ?? lineColumn(p.where);
    const pointer = p.syntax ? (p.syntax.enclosing.length === 0 ? '/' : jsonPointer(p.syntax.enclosing)) : (p.pointer ?? '/');
    return { syntax: p.syntax !== undefined, found: problem(source.file, line, column, pointer, `YAML: ${p.message}`) };
  });
  const before = (a: DesiredStateProblem, b: DesiredStateProblem): boolean => a.line < b.line || (a.line === b.line && a.column < b.column);
  let first: DesiredStateProblem | undefined;
  for (const p of all) if (p.syntax && (first === undefined || before(p.found, first))) first = p.found;
  if (first === undefined) return all.map((p) => p.found);
  const kept = all.filter((p) => !p.syntax && before(p.found, first)).map((p) => p.found);
  const more = all.length - kept.length - 1;
  if (more > 0) first.message += ` (${more} more syntax error${more === 1 ? '' : 's'} after it may follow from this one)`;
  return [...kept, first];
}

/** Why a file could not be read, in words, with the system error code: `no such file (ENOENT)`. */
function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory, not a file',
    ENOTDIR: 'a part of the path is not a directory',
  };
  return code && words[code] ? `${words[code]} (${code})` : errorMessage(err);
}

/**
 * The first sign that a text is not a UTF-8 text file: a NUL character or a byte sequence that is not UTF-8
 * (decoded as U+FFFD by `readFile(..., 'utf8')`), with its position; `undefined` for text.
 */
function notText(text: string): { line: number; column: number; message: string } | undefined {
  const at = text.search(/[\u0000\uFFFD]/);
  if (at < 0) return undefined;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  const what = text[at] === '\u0000' ? 'a NUL byte' : 'bytes that are not UTF-8';
  return { line, column, message: `not a text file: ${what} here; a desired state is a UTF-8 YAML document` };
}

/**
 * Parses and validates a desired-state document held in memory.
 * @param text the YAML source.
 * @param file the name used in problem locations (as the user wrote it, e.g. `desired-state/dev.yml`).
 *   A name `…/desired-state/<env>.yml` also requires `metadata.environment` to be `<env>`.
 * @param vars variables for interpolation (`Config.interpolationEnv`).
 * @returns the document with schema defaults applied (e.g. each model's `apiVersion`).
 * @throws ValidationError (code `invalid_desired_state`) listing every problem, each `where` being
 *   `file:line:column /json/pointer`, sorted by position.
 */
export function parseDesiredState(text: string, file: string, vars: Readonly<Record<string, string>>): DesiredState {
  const binary = notText(text);
  if (binary) fail(file, [problem(file, binary.line, binary.column, '/', binary.message)]);
  const source = parseYamlSource(text, file);
  if (source.problems.length > 0) fail(file, yamlProblems(source));
  if (source.value === null || text.trim() === '') fail(file, [problem(file, 1, 1, '/', 'the document is empty')]);

  const interpolated = interpolateValue(source.value, vars);
  const problems = interpolated.problems.map((p) => at(source, p.path, p.message));
  const data = interpolated.value;
  const findings: Finding[] = [];
  if (!validateSchema(data)) findings.push(...schemaFindings(validateSchema.errors ?? []));
  findings.push(...semanticFindings(data));
  // The file name's environment, unless the value is already wrong by itself.
  if (!findings.some((f) => f.pointer === ENVIRONMENT_POINTER)) findings.push(...fileEnvironmentFindings(data, file));
  const unresolved = new Set(problems.map((p) => p.pointer));
  for (const f of findings) {
    if (unresolved.has(f.pointer)) continue; // the interpolation problem already explains this value
    problems.push(at(source, parseJsonPointer(f.pointer === '/' ? '' : f.pointer), f.message, f.at === 'key'));
  }
  if (problems.length > 0) fail(file, problems);
  return data as DesiredState;
}

/**
 * Reads, parses and validates a desired-state file.
 * @param file path of the YAML file; used as given in problem locations.
 * @param vars variables for `${VAR}` interpolation (`Config.interpolationEnv`); nothing else is read.
 * @throws ValidationError when the file cannot be read, is larger than {@link MAX_DESIRED_STATE_BYTES}, or
 *   is invalid (every problem listed, see {@link parseDesiredState}).
 */
export async function loadDesiredState(file: string, vars: Readonly<Record<string, string>>): Promise<DesiredState> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_DESIRED_STATE_BYTES) {
      fail(file, [problem(file, 1, 1, '/', `the file is ${info.size} bytes; the limit is ${MAX_DESIRED_STATE_BYTES}`)]);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const reason = readFailure(err);
    throw new ValidationError(`cannot read desired state ${file} (1 problem):`, [{ where: file, message: reason }], 'invalid_desired_state');
  }
  return parseDesiredState(text, file, vars);
}
