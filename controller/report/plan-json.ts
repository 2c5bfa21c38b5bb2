/**
 * The machine form of a report: JSON conforming to `schemas/drift-report.schema.json`, checked with ajv so a
 * change to the report types that forgets the schema fails loudly instead of shipping a lie to consumers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { TerminalError } from '../../services/platform/errors.ts';
import type { DriftReport } from '../types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const schemaPath = fileURLToPath(new URL('../../schemas/drift-report.schema.json', import.meta.url));
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

/** Problems of `value` against the drift-report schema, as `"<json pointer> <message>"`; empty when valid. */
export function driftReportProblems(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/**
 * Renders the report as pretty JSON (2-space indent, trailing newline).
 * @throws TerminalError (code `invalid_drift_report`) when the report does not match its schema: a bug.
 */
export function renderPlanJson(report: DriftReport): string {
  const problems = driftReportProblems(report);
  if (problems.length > 0) throw new TerminalError('invalid_drift_report', `drift report does not match its schema: ${problems.join('; ')}`);
  return `${JSON.stringify(report, null, 2)}\n`;
}
