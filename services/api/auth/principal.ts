/**
 * Who is calling: the facts the API takes from a verified JWT's claims, and how it reads them.
 *
 * Claim conventions of the identity providers we accept:
 * - tenant: `tenant_id`, else `tid` (Microsoft Entra ID's tenant claim);
 * - scopes: `scope`, a space-separated string (RFC 8693 §4.2, RFC 9068 §2.2.3), else `scp`, a space-separated string
 *   (Entra ID) or an array of strings (Okta);
 * - tier: `tier` (`enterprise` | `pro` | `free`), our own claim; absent or unknown means `free`, so a token can never
 *   raise its priority by sending a value we do not know.
 */
import type { JWTPayload } from 'jose';
import { AuthError } from '../../platform/errors.ts';
import { TIER_PRIORITY, type Tier } from '../../analyses/types.ts';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../../platform/tenant-id.ts';

/** The authenticated caller. */
export interface Principal {
  /** `sub` claim. */
  subject: string;
  /** Tenant id; safe to use in S3 keys and Redis keys (checked against {@link TENANT_ID_PATTERN}). */
  tenantId: string;
  /** Granted scopes, e.g. `analyses:write`. */
  scopes: ReadonlySet<string>;
  /** Caller tier, decides the queue priority. */
  tier: Tier;
}

/**
 * A tenant id must look like this, because it becomes part of S3 keys (`uploads/<tenant>/…`) and Redis keys: it
 * starts with a letter or digit, so `.` and `..` (path segments) and hidden names cannot pass. Shared with the
 * configuration that names tenants (services/platform/tenant-id.ts).
 */
export { TENANT_ID_PATTERN };

function invalid(message: string): AuthError {
  return new AuthError(401, 'invalid_token', message);
}

function readScopes(payload: JWTPayload): Set<string> {
  const raw = payload.scope ?? payload.scp;
  if (raw === undefined) return new Set();
  if (typeof raw === 'string') return new Set(raw.split(' ').filter((s) => s.length > 0));
  if (Array.isArray(raw) && raw.every((s): s is string => typeof s === 'string')) return new Set(raw);
  throw invalid('the token claim scope/scp must be a space-separated string or an array of strings');
}

function readTier(payload: JWTPayload): Tier {
  const t = payload.tier;
  return typeof t === 'string' && Object.hasOwn(TIER_PRIORITY, t) ? (t as Tier) : 'free';
}

/**
 * The tenant: `tenant_id` when the token has it (present means any value but `undefined`, so a `null` or a number
 * is an error rather than a reason to look at `tid`), else `tid`.
 * @throws AuthError 401 `invalid_token` naming the claim read when neither is there, it is not a string, or it does
 *   not match {@link TENANT_ID_PATTERN}.
 */
/** The JSON type of a claim value, for messages: `null`, `array`, or what `typeof` says. */
function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function readTenant(payload: JWTPayload): string {
  const claim = payload.tenant_id !== undefined ? 'tenant_id' : payload.tid !== undefined ? 'tid' : undefined;
  if (claim === undefined) throw invalid('the token has no tenant_id (or tid) claim');
  const tenant = payload[claim];
  if (typeof tenant !== 'string') throw invalid(`the token claim ${claim} must be a string (got ${jsonType(tenant)})`);
  if (!TENANT_ID_PATTERN.test(tenant)) throw invalid(`the token claim ${claim} must be ${TENANT_ID_RULE}`);
  return tenant;
}

/**
 * Reads the caller from a verified claims set.
 * @throws AuthError 401 `invalid_token` when `sub` or the tenant claim is missing or malformed.
 */
export function principalFromClaims(payload: JWTPayload): Principal {
  if (payload.sub === undefined) throw invalid('the token has no sub claim');
  if (typeof payload.sub !== 'string') throw invalid(`the token claim sub must be a string (got ${jsonType(payload.sub)})`);
  if (payload.sub.length === 0) throw invalid('the token claim sub is empty');
  return { subject: payload.sub, tenantId: readTenant(payload), scopes: readScopes(payload), tier: readTier(payload) };
}
