/**
 * Bucket policies (PutBucketPolicy / GetBucketPolicy): a JSON access-policy document, checked against the
 * IAM policy grammar as S3 applies it to bucket policies (every fault is `MalformedPolicy`, HTTP 400: Amazon S3
 * API reference, error codes), stored as sent. With `BlockPublicPolicy` on, a public policy is refused with
 * `AccessDenied` (Amazon S3 User Guide, "Blocking public access"). The stand-in's test of "public" is simpler
 * than S3's: an `Allow` to principal `*` without any `Condition`.
 */
import { S3Error } from './errors.ts';

/** `MalformedPolicy` (400). */
function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', 400, message);
}

const TOP_LEVEL = ['Version', 'Id', 'Statement'];
const STATEMENT_KEYS = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
const PRINCIPAL_KINDS = ['AWS', 'Service', 'CanonicalUser', 'Federated'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string or a non-empty list of strings, as a list. @throws MalformedPolicy otherwise. */
function strings(v: unknown, field: string): string[] {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!list || list.length === 0 || !list.every((x): x is string => typeof x === 'string')) throw malformed(`${field} must be a string or a list of strings`);
  return list;
}

function checkPrincipal(p: unknown): void {
  if (p === '*') return;
  if (!isRecord(p) || Object.keys(p).length === 0) throw malformed('Invalid principal in policy');
  for (const [kind, value] of Object.entries(p)) {
    if (!PRINCIPAL_KINDS.includes(kind)) throw malformed('Invalid principal in policy');
    strings(value, `Principal.${kind}`);
  }
}

function isPublicAllow(s: Record<string, unknown>): boolean {
  if (s.Effect !== 'Allow' || s.Condition !== undefined) return false;
  const p = s.Principal;
  if (p === '*') return true;
  return isRecord(p) && p.AWS !== undefined && strings(p.AWS, 'Principal.AWS').includes('*');
}

/**
 * Checks a PutBucketPolicy body for `bucket`.
 * @param blockPublicPolicy the bucket's `BlockPublicPolicy` setting.
 * @returns the policy text, as sent.
 * @throws S3Error `MalformedPolicy` for a document S3 refuses, `AccessDenied` (403) for a public policy while
 *   public policies are blocked.
 */
export function checkPolicy(body: Buffer, bucket: string, blockPublicPolicy: boolean): string {
  const text = body.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (!isRecord(doc) || text.trimStart()[0] !== '{') throw malformed("Policies must be valid JSON and the first byte must be '{'");
  const unknown = Object.keys(doc).find((k) => !TOP_LEVEL.includes(k));
  if (unknown !== undefined) throw malformed(`Policy has an unknown field: ${unknown}`);
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') throw malformed('The policy must contain a valid version string');
  if (doc.Statement === undefined) throw malformed('Missing required field Statement');
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (statements.length === 0) throw malformed('Missing required field Statement');
  const resource = new RegExp(`^arn:[a-z-]+:s3:::${bucket.replace(/[.]/g, '\\.')}(/.*)?$`);
  const sids = new Set<string>();
  let isPublic = false;
  for (const s of statements) {
    if (!isRecord(s)) throw malformed('Statement must be an object or a list of objects');
    const bad = Object.keys(s).find((k) => !STATEMENT_KEYS.includes(k));
    if (bad !== undefined) throw malformed(`Policy has an unknown field: ${bad}`);
    if (s.Sid !== undefined) {
      if (typeof s.Sid !== 'string') throw malformed('Sid must be a string');
      if (sids.has(s.Sid)) throw malformed('Statement IDs (SID) in a single policy must be unique.');
      sids.add(s.Sid);
    }
    if (s.Effect === undefined) throw malformed('Missing required field Effect');
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed(`Invalid effect: ${String(s.Effect)}`);
    const principal = s.Principal ?? s.NotPrincipal;
    if (principal === undefined) throw malformed('Missing required field Principal');
    checkPrincipal(principal);
    const actions = s.Action ?? s.NotAction;
    if (actions === undefined) throw malformed('Missing required field Action');
    if (!strings(actions, 'Action').every((a) => a === '*' || /^s3:[A-Za-z*?]+$/.test(a))) throw malformed('Policy has invalid action');
    const resources = s.Resource ?? s.NotResource;
    if (resources === undefined) throw malformed('Missing required field Resource');
    if (!strings(resources, 'Resource').every((r) => resource.test(r))) throw malformed('Policy has invalid resource');
    if (s.Condition !== undefined && !isRecord(s.Condition)) throw malformed('Condition must be an object');
    isPublic ||= isPublicAllow(s);
  }
  if (isPublic && blockPublicPolicy) {
    throw new S3Error('AccessDenied', 403, `Access Denied: public policies are blocked by the BlockPublicPolicy block public access setting of bucket ${bucket}`);
  }
  return text;
}
