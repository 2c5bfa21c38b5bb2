/**
 * Input checks of the coordinator's requests, before anything is sent or reserved. Every problem names the field
 * (`image`, `context.tenantId`, …) and what is wrong.
 */
import { ValidationError, type Problem } from '../platform/errors.ts';
import type { CallContext, DescribeImageRequest, GenerateJsonRequest } from './types.ts';

/** Limits of one request. */
export interface RequestLimits {
  /** Largest accepted image, bytes. @defaultValue 4 MiB */
  maxImageBytes: number;
  /** Largest prompt text (each of prompt / system / user), characters. @defaultValue 200000 */
  maxPromptChars: number;
  /** Largest `maxTokens` a caller may ask for, tokens. @defaultValue 32768 */
  maxOutputTokens: number;
}

/** Defaults of {@link RequestLimits}. */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxImageBytes: 4 * 1024 * 1024, maxPromptChars: 200_000, maxOutputTokens: 32_768 };

const ID = /^[A-Za-z0-9_.-]{1,128}$/;
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function checkContext(c: CallContext | undefined, p: Problem[]): void {
  if (!c || typeof c !== 'object') {
    p.push({ where: 'context', message: 'is required ({ tenantId, analysisId })' });
    return;
  }
  if (typeof c.tenantId !== 'string' || !ID.test(c.tenantId)) p.push({ where: 'context.tenantId', message: 'must match [A-Za-z0-9_.-]{1,128}' });
  if (typeof c.analysisId !== 'string' || !ID.test(c.analysisId)) p.push({ where: 'context.analysisId', message: 'must match [A-Za-z0-9_.-]{1,128}' });
}

function checkText(v: unknown, where: string, max: number, p: Problem[]): void {
  if (typeof v !== 'string' || v.trim().length === 0) p.push({ where, message: 'must be a non-empty string' });
  else if (v.length > max) p.push({ where, message: `must be at most ${max} characters (got ${v.length})` });
}

function checkMaxTokens(v: unknown, max: number, p: Problem[]): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) p.push({ where: 'maxTokens', message: `must be an integer from 1 to ${max}` });
}

function magicMatches(image: Buffer, mime: string): boolean {
  if (mime === 'image/jpeg') return image.length >= 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff;
  if (mime === 'image/png') return image.length >= 8 && image.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return false;
}

function fail(kind: string, p: Problem[]): void {
  if (p.length > 0) throw new ValidationError(`invalid ${kind} request (${p.length} problem${p.length === 1 ? '' : 's'}):`, p);
}

/** @throws ValidationError listing every problem of a describeImage request. */
export function checkDescribeImage(r: DescribeImageRequest, l: RequestLimits): void {
  const p: Problem[] = [];
  if (r.mimeType !== 'image/jpeg' && r.mimeType !== 'image/png') p.push({ where: 'mimeType', message: 'must be image/jpeg or image/png' });
  if (!Buffer.isBuffer(r.image) || r.image.length === 0) p.push({ where: 'image', message: 'must be a non-empty Buffer' });
  else if (r.image.length > l.maxImageBytes) p.push({ where: 'image', message: `must be at most ${l.maxImageBytes} bytes (got ${r.image.length})` });
  else if ((r.mimeType === 'image/jpeg' || r.mimeType === 'image/png') && !magicMatches(r.image, r.mimeType)) {
    p.push({ where: 'image', message: `bytes are not ${r.mimeType === 'image/jpeg' ? 'a JPEG (FF D8 FF)' : 'a PNG'} as mimeType says` });
  }
  checkText(r.prompt, 'prompt', l.maxPromptChars, p);
  checkMaxTokens(r.maxTokens, l.maxOutputTokens, p);
  checkContext(r.context, p);
  fail('describeImage', p);
}

/** @throws ValidationError listing every problem of a generateJson request (the schema is compiled later). */
export function checkGenerateJson(r: GenerateJsonRequest, l: RequestLimits): void {
  const p: Problem[] = [];
  checkText(r.system, 'system', l.maxPromptChars, p);
  checkText(r.user, 'user', l.maxPromptChars, p);
  if (!r.schema || typeof r.schema !== 'object' || Array.isArray(r.schema)) p.push({ where: 'schema', message: 'must be a JSON Schema object' });
  if (typeof r.schemaName !== 'string' || !SCHEMA_NAME.test(r.schemaName)) p.push({ where: 'schemaName', message: 'must match [A-Za-z0-9_-]{1,64} (response_format.json_schema.name)' });
  checkMaxTokens(r.maxTokens, l.maxOutputTokens, p);
  checkContext(r.context, p);
  fail('generateJson', p);
}
