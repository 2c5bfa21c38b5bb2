/**
 * Observer of the S3 temporary-video bucket's settings (read only): existence (HeadBucket), the reconciler's
 * expiry rule (GetBucketLifecycleConfiguration), default encryption (GetBucketEncryption), Block Public Access
 * (GetPublicAccessBlock) and the TLS-only statement of the bucket policy (GetBucketPolicy). "Not configured"
 * answers are values (`null` / `false`), not errors. An endpoint that does not implement a read gives an
 * {@link Unsupported} value instead of failing the pass: 501 NotImplemented (plain s3rver, for the first
 * three: reference/standin-pitfalls.md §1) or 405 MethodNotAllowed (s3rver's answer to GetBucketPolicy; S3's
 * answer to a caller outside the bucket owner's account). The documents the writes must preserve (other
 * lifecycle rules, other policy statements) are kept in `documents`.
 */
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BucketDocuments, ObservedBucket, Unsupported } from '../types.ts';
import type { ApiCalls } from '../aws/api-calls.ts';

/**
 * ID of the lifecycle rule the desired state owns (`expireAfterDays`): the rule the Copilot addon creates
 * (copilot/environments/addons/temp-bucket.yml), so the reconciler and CloudFormation manage the same rule.
 */
export const EXPIRY_RULE_ID = 'expire-temporary-videos';

/** Sid of the TLS-only statement the desired state owns (`tlsOnly`), as the Copilot addon names it. */
export const TLS_ONLY_SID = 'DenyInsecureTransport';

/** What the observer needs. */
export interface S3ObserverDeps {
  s3: S3Client;
  calls: ApiCalls;
}

/** AWS error name and HTTP status of a (possibly wrapped) SDK error. */
function awsError(err: unknown): { name?: string; status?: number } {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const e = cause as { name?: string; $metadata?: { httpStatusCode?: number } };
  return { ...(e.name ? { name: e.name } : {}), ...(e.$metadata?.httpStatusCode ? { status: e.$metadata.httpStatusCode } : {}) };
}

/**
 * Runs one read: the value, `notConfigured` for the named "nothing configured" error, or Unsupported for 501/405.
 * @throws the wrapped error for anything else.
 */
async function read<T, N>(operation: string, fn: () => Promise<T>, notConfiguredName: string, notConfigured: N, deps: S3ObserverDeps, bucket: string): Promise<T | N | Unsupported> {
  try {
    return await deps.calls.run('s3', operation, bucket, fn);
  } catch (err) {
    const e = awsError(err);
    if (e.name === notConfiguredName) return notConfigured;
    if (e.status === 501 || e.name === 'NotImplemented') return { unsupported: `${operation} answered 501 NotImplemented` };
    if (e.status === 405 || e.name === 'MethodNotAllowed') return { unsupported: `${operation} answered 405 MethodNotAllowed` };
    throw err;
  }
}

/** Whether a rule applies to the whole bucket (no prefix, tag or size filter). */
function wholeBucket(r: LifecycleRule): boolean {
  const f = r.Filter;
  const prefix = f?.Prefix ?? r.Prefix ?? '';
  return prefix === '' && f?.Tag === undefined && f?.And === undefined && f?.ObjectSizeGreaterThan === undefined && f?.ObjectSizeLessThan === undefined;
}

/**
 * Expiry days of the rule `id` when it is enabled and covers the whole bucket; `null` otherwise (absent,
 * disabled, narrowed by a filter, or expiring by date).
 */
export function ownedExpiryDays(rules: readonly LifecycleRule[], id: string = EXPIRY_RULE_ID): number | null {
  const r = rules.find((x) => x.ID === id);
  return r && r.Status === 'Enabled' && wholeBucket(r) && r.Expiration?.Days !== undefined ? r.Expiration.Days : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/**
 * Whether a policy statement denies, to everyone, every S3 action on the bucket and its objects when the request
 * was not made over TLS: `Effect: Deny`, `Principal: *`, `Action: s3:*`, both resources, and
 * `Condition: { Bool: { aws:SecureTransport: false } }` (Amazon S3 User Guide, "Enforce encryption in transit";
 * condition keys are case-insensitive in IAM).
 */
export function isTlsOnlyStatement(s: unknown, bucketArn: string): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const st = s as Record<string, unknown>;
  const principal = st.Principal;
  const everyone = principal === '*' || (typeof principal === 'object' && principal !== null && list((principal as Record<string, unknown>).AWS).includes('*'));
  const actions = list(st.Action);
  const resources = list(st.Resource);
  const bool = (st.Condition as Record<string, unknown> | undefined)?.Bool;
  const secure = typeof bool === 'object' && bool !== null ? Object.entries(bool).find(([k]) => k.toLowerCase() === 'aws:securetransport')?.[1] : undefined;
  return (
    st.Effect === 'Deny' && everyone && (actions.includes('s3:*') || actions.includes('*')) &&
    (resources.includes('*') || (resources.includes(bucketArn) && resources.includes(`${bucketArn}/*`))) &&
    list(secure).some((v) => v === 'false' || v === false)
  );
}

/** Statements of a policy document; `undefined` when it is not a JSON object. */
export function policyStatements(policy: string): unknown[] | undefined {
  try {
    const doc: unknown = JSON.parse(policy);
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? list((doc as Record<string, unknown>).Statement) : undefined;
  } catch {
    return undefined;
  }
}

/** ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`, …): AWS General Reference, "ARN format". */
export function arnPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

function isUnsupported(v: unknown): v is Unsupported {
  return typeof v === 'object' && v !== null && 'unsupported' in v;
}

/**
 * Observes one bucket.
 * @throws AwsCallError when a read fails for another reason than "not configured", 501 or 405.
 */
export async function observeS3Bucket(name: string, deps: S3ObserverDeps): Promise<ObservedBucket> {
  try {
    await deps.calls.run('s3', 'HeadBucket', name, () => deps.s3.send(new HeadBucketCommand({ Bucket: name })));
  } catch (err) {
    const e = awsError(err);
    if (e.status === 404 || e.name === 'NotFound' || e.name === 'NoSuchBucket') return { name, exists: false };
    throw err;
  }
  const lifecycle = await read('GetBucketLifecycleConfiguration', () => deps.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: name })), 'NoSuchLifecycleConfiguration', null, deps, name);
  const encryption = await read('GetBucketEncryption', () => deps.s3.send(new GetBucketEncryptionCommand({ Bucket: name })), 'ServerSideEncryptionConfigurationNotFoundError', null, deps, name);
  const publicAccess = await read('GetPublicAccessBlock', () => deps.s3.send(new GetPublicAccessBlockCommand({ Bucket: name })), 'NoSuchPublicAccessBlockConfiguration', null, deps, name);
  const policy = await read('GetBucketPolicy', () => deps.s3.send(new GetBucketPolicyCommand({ Bucket: name })), 'NoSuchBucketPolicy', null, deps, name);
  const arn = `arn:${arnPartition(await deps.s3.config.region())}:s3:::${name}`;
  const block = publicAccess === null || isUnsupported(publicAccess) ? publicAccess : publicAccess.PublicAccessBlockConfiguration;
  const rule = encryption === null || isUnsupported(encryption) ? undefined : encryption.ServerSideEncryptionConfiguration?.Rules?.[0];
  const policyText = policy === null || isUnsupported(policy) ? policy : (policy.Policy ?? null);
  const documents: BucketDocuments = {
    arn,
    ...(isUnsupported(lifecycle) ? {} : { lifecycleRules: lifecycle?.Rules ?? [] }),
    ...(isUnsupported(policyText) ? {} : { policy: policyText }),
    ...(rule?.BucketKeyEnabled !== undefined ? { bucketKeyEnabled: rule.BucketKeyEnabled } : {}),
  };
  return {
    name,
    exists: true,
    expireAfterDays: lifecycle === null || isUnsupported(lifecycle) ? lifecycle : ownedExpiryDays(lifecycle.Rules ?? []),
    encryption: isUnsupported(encryption) ? encryption : (rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? null),
    blockPublicAccess: isUnsupported(block)
      ? block
      : block !== null && block !== undefined && block.BlockPublicAcls === true && block.IgnorePublicAcls === true && block.BlockPublicPolicy === true && block.RestrictPublicBuckets === true,
    tlsOnly: isUnsupported(policyText) ? policyText : policyText !== null && (policyStatements(policyText) ?? []).some((s) => isTlsOnlyStatement(s, arn)),
    documents,
  };
}
