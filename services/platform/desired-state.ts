/**
 * Loader of desired-state documents (`desired-state/<env>.yml`): the reconciler's "custom resource", and the
 * model registry the worker reads. Shared by `controller/` and `services/`.
 *
 * Stages, each reporting every problem it finds with `file:line:column` and the JSON path:
 * 1. YAML parse (`yaml` parseDocument + LineCounter): syntax errors, duplicate keys, empty document;
 * 2. `${VAR}` / `${VAR:-default}` interpolation of string scalars (Copilot's convention);
 * 3. JSON Schema (`schemas/desired-state.schema.json`, ajv): unknown keys point at the key;
 * 4. semantic rules the schema cannot express (`desired-state/semantic-checks.ts`).
 * Stage 1 failures stop there (positions after a syntax error are unreliable); stages 2–4 all run.
 */
import { readFile, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ValidationError, errorMessage, type Problem } from './errors.ts';
import { interpolateDocument } from './desired-state/interpolate.ts';
import { SourceLocator } from './desired-state/source-locations.ts';
import { schemaFindings, type Finding } from './desired-state/schema-errors.ts';
import { semanticFindings } from './desired-state/semantic-checks.ts';
import type { DesiredState } from './desired-state/types.ts';

export type * from './desired-state/types.ts';
export { parseDurationMs, formatDurationMs } from './desired-state/duration.ts';

/** At most this many YAML syntax errors are listed (the rest usually follow from the first). */
const MAX_SYNTAX_PROBLEMS = 5;

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

/** Strips the " at line L, column C:" suffix and code excerpt that `yaml` appends to its messages. */
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').trim();
}

/**
 * Parses and validates a desired-state document held in memory.
 * @param text the YAML source.
 * @param file the name used in problem locations (as the user wrote it, e.g. `desired-state/dev.yml`).
 * @param vars variables for interpolation (`Config.interpolationEnv`).
 * @returns the document with schema defaults applied (e.g. each model's `apiVersion`).
 * @throws ValidationError (code `invalid_desired_state`) listing every problem, each `where` being
 *   `file:line:column /json/pointer`, sorted by position.
 */
export function parseDesiredState(text: string, file: string, vars: Readonly<Record<string, string>>): DesiredState {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Later syntax errors mostly cascade from the first one: show a few, and say how many were left out.
    const shown = doc.errors.slice(0, MAX_SYNTAX_PROBLEMS).map((e) =>
      problem(file, e.linePos?.[0].line ?? 1, e.linePos?.[0].col ?? 1, '/', `YAML ${e.code}: ${yamlMessage(e.message)}`),
    );
    const more = doc.errors.length - shown.length;
    if (more > 0) shown[shown.length - 1]!.message += ` (and ${more} more syntax error${more === 1 ? '' : 's'} after it)`;
    fail(file, shown);
  }
  if (doc.contents === null || text.trim() === '') fail(file, [problem(file, 1, 1, '/', 'the document is empty')]);
  const locator = new SourceLocator(doc, lines);
  const problems: DesiredStateProblem[] = [];
  for (const p of interpolateDocument(doc, vars)) {
    const pos = locator.positionOf(p.offset);
    problems.push(problem(file, pos.line, pos.column, p.pointer, p.message));
  }
  const data: unknown = doc.toJS({ maxAliasCount: 50 });
  const findings: Finding[] = [];
  if (!validateSchema(data)) findings.push(...schemaFindings(validateSchema.errors ?? []));
  findings.push(...semanticFindings(data));
  const unresolved = new Set(problems.map((p) => p.pointer));
  for (const f of findings) {
    if (unresolved.has(f.pointer)) continue; // the interpolation problem already explains this value
    const pos = locator.locate(f.pointer, f.at);
    problems.push(problem(file, pos.line, pos.column, f.pointer, f.message));
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
    throw new ValidationError(`cannot read desired state ${file}: ${errorMessage(err)}`, [{ where: file, message: errorMessage(err) }], 'invalid_desired_state');
  }
  return parseDesiredState(text, file, vars);
}
