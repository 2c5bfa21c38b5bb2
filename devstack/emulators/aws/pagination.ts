/**
 * Opaque pagination tokens (`nextToken` / `NextToken`). A token carries the offset of the next item and a scope
 * string (operation plus filters), so a token from one listing is refused by another, as AWS does.
 */
import { AwsServiceError } from './wire.ts';

/** One page of `items`, and the token for the rest (undefined on the last page). */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * Slices `all` at the offset the token names.
 * @param scope identifies the listing (operation and filters); a token minted for another scope is invalid.
 * @param invalidType exception name for a bad token (`InvalidParameterException` for ECS,
 *   `InvalidNextTokenException` for Application Auto Scaling).
 * @throws AwsServiceError `invalidType` when the token is malformed, foreign or past the end.
 */
export function paginate<T>(all: readonly T[], pageSize: number, token: string | undefined, scope: string, invalidType: string): Page<T> {
  let offset = 0;
  if (token !== undefined) {
    const parsed = decode(token);
    if (!parsed || parsed.scope !== scope || parsed.offset > all.length) throw new AwsServiceError(invalidType, 'Invalid token: the nextToken is not valid for this request.');
    offset = parsed.offset;
  }
  const items = all.slice(offset, offset + pageSize);
  const next = offset + items.length;
  return next < all.length ? { items, nextToken: encode(scope, next) } : { items };
}

function encode(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: scope, o: offset })).toString('base64url');
}

function decode(token: string): { scope: string; offset: number } | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof v !== 'object' || v === null) return undefined;
    const s = (v as { s?: unknown }).s;
    const o = (v as { o?: unknown }).o;
    if (typeof s !== 'string' || typeof o !== 'number' || !Number.isInteger(o) || o < 0) return undefined;
    return { scope: s, offset: o };
  } catch {
    return undefined;
  }
}
