/**
 * The opaque cursor of `GET /v1/analyses`: base64url of `{"v":1,"p":<index member>,"f":<filter fingerprint>}`.
 *
 * It is validated strictly instead of signed: it names a position in the caller's own tenant index
 * (services/analyses/store.ts, `<createdAt ms>:<id>`), and the scan that resumes from it is tenant-scoped, so
 * editing it can only move the caller within data they may list anyway; what must not happen is a cursor that
 * crashes the scan or silently pages a different listing. So every field is checked (version, member pattern, no
 * extra fields, at most {@link MAX_CURSOR_CHARS}), and the fingerprint of the filters it was issued for must equal
 * the request's: a cursor replayed with other filters is 400, not a page of something else.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../platform/errors.ts';
import { INDEX_MEMBER_PATTERN } from '../analyses/store.ts';

/** Longest cursor accepted, characters. */
export const MAX_CURSOR_CHARS = 256;

/** The filters a cursor is bound to (as given by the request, normalised). */
export interface ListingFilters {
  status?: string;
  /** ms since the epoch. */
  createdFromMs?: number;
  /** ms since the epoch. */
  createdBeforeMs?: number;
}

/** 16 hex characters of the SHA-256 of the normalised filters. */
export function filterFingerprint(f: ListingFilters): string {
  const canonical = JSON.stringify([f.status ?? null, f.createdFromMs ?? null, f.createdBeforeMs ?? null]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Encodes the resume position of a listing with `filters`. */
export function encodeCursor(position: string, filters: ListingFilters): string {
  return Buffer.from(JSON.stringify({ v: 1, p: position, f: filterFingerprint(filters) })).toString('base64url');
}

/**
 * Decodes a cursor issued for `filters`.
 * @returns the index member to resume after.
 * @throws ValidationError at `query.cursor` when it is malformed, or was issued for other filters.
 */
export function decodeCursor(cursor: string, filters: ListingFilters): string {
  const bad = (message: string): ValidationError => new ValidationError('the cursor is invalid', [{ where: 'query.cursor', message }]);
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('is not a cursor returned by this API');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('is not a cursor returned by this API');
  }
  const c = parsed as Record<string, unknown> | null;
  const keys = c && typeof c === 'object' && !Array.isArray(c) ? Object.keys(c).sort().join(',') : '';
  if (!c || keys !== 'f,p,v' || c.v !== 1 || typeof c.p !== 'string' || !INDEX_MEMBER_PATTERN.test(c.p) || typeof c.f !== 'string') {
    throw bad('is not a cursor returned by this API');
  }
  if (c.f !== filterFingerprint(filters)) throw bad('was issued for other filters (status, createdAfter, createdBefore); repeat them unchanged when paging');
  return c.p;
}
