/**
 * Listing a tenant's analyses, newest first, with an opaque cursor (analysis-cursor.ts) and filters by status and
 * creation time.
 *
 * The tenant index is ordered by creation time only, so the status filter is applied while scanning: one request
 * examines at most {@link MAX_SCANNED} index entries. A page can therefore hold fewer than `limit` items (even
 * none) while `nextCursor` is still set; clients page until `nextCursor` is null, as with DynamoDB's filter
 * expressions. Items leave out `result` (read it with `GET /v1/analyses/{id}`), which keeps pages small.
 */
import type { AnalysisStore } from '../../analyses/store.ts';
import type { AnalysisRecord, AnalysisStatus } from '../../analyses/types.ts';
import { ValidationError } from '../../platform/errors.ts';
import type { Principal } from '../auth/principal.ts';
import { decodeCursor, encodeCursor, type ListingFilters } from '../analysis-cursor.ts';

/** Index entries one request may examine. */
export const MAX_SCANNED = 1000;

/** Validated query of `GET /v1/analyses`. */
export interface ListAnalysesQuery {
  /** 1–100. @defaultValue 20 */
  limit?: number;
  cursor?: string;
  status?: AnalysisStatus;
  /** ISO 8601: only analyses created strictly after it (millisecond precision). */
  createdAfter?: string;
  /** ISO 8601: only analyses created strictly before it (millisecond precision). */
  createdBefore?: string;
}

/** An analysis in a listing: the record without `result`. */
export type AnalysisSummary = Omit<AnalysisRecord, 'result'>;

/** One page. */
export interface AnalysisPage {
  items: AnalysisSummary[];
  /** Pass as `cursor` with the same filters for the next page; null when the listing is exhausted. */
  nextCursor: string | null;
}

/** Default page size. */
export const DEFAULT_PAGE_SIZE = 20;

function summary(r: AnalysisRecord): AnalysisSummary {
  const { result: _omitted, ...rest } = r;
  return rest;
}

/** Normalises the time filters. @throws ValidationError when createdAfter is not before createdBefore. */
export function listingFilters(q: Pick<ListAnalysesQuery, 'status' | 'createdAfter' | 'createdBefore'>): ListingFilters {
  const f: ListingFilters = {
    ...(q.status ? { status: q.status } : {}),
    // Strictly after T at ms precision = at or after T + 1 ms.
    ...(q.createdAfter ? { createdFromMs: Date.parse(q.createdAfter) + 1 } : {}),
    ...(q.createdBefore ? { createdBeforeMs: Date.parse(q.createdBefore) } : {}),
  };
  if (f.createdFromMs !== undefined && f.createdBeforeMs !== undefined && f.createdFromMs >= f.createdBeforeMs) {
    throw new ValidationError('the time range is empty', [{ where: 'query.createdAfter', message: 'must be earlier than createdBefore' }]);
  }
  return f;
}

/**
 * One page of the caller's tenant's analyses.
 * @throws ValidationError at `query.cursor` or `query.createdAfter`; Redis errors as thrown (503 in errors.ts).
 */
export async function listAnalyses(store: AnalysisStore, caller: Principal, q: ListAnalysesQuery): Promise<AnalysisPage> {
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  const filters = listingFilters(q);
  const after = q.cursor !== undefined ? decodeCursor(q.cursor, filters) : undefined;
  const items: AnalysisSummary[] = [];
  let scanned = 0;
  let lastPosition: string | undefined;
  for await (const { position, record } of store.scanTenant(caller.tenantId, {
    ...(filters.createdFromMs !== undefined ? { createdFromMs: filters.createdFromMs } : {}),
    ...(filters.createdBeforeMs !== undefined ? { createdBeforeMs: filters.createdBeforeMs } : {}),
    ...(after !== undefined ? { after } : {}),
    batchSize: Math.min(MAX_SCANNED, filters.status ? Math.max(limit * 2, 50) : limit + 1),
  })) {
    // Defence in depth: the index is per tenant, but a record names its tenant too.
    if (record.tenantId !== caller.tenantId) continue;
    scanned++;
    lastPosition = position;
    if (!filters.status || record.status === filters.status) items.push(summary(record));
    if (items.length === limit || scanned >= MAX_SCANNED) break;
  }
  if (lastPosition === undefined) return { items, nextCursor: null };
  const more = await store.hasOlder(caller.tenantId, lastPosition, filters.createdFromMs);
  return { items, nextCursor: more ? encodeCursor(lastPosition, filters) : null };
}
