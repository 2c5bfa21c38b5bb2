/**
 * Observer of the S3 temporary-video bucket's policies (read only): existence (HeadBucket), expiry
 * (GetBucketLifecycleConfiguration), default encryption (GetBucketEncryption) and Block Public Access
 * (GetPublicAccessBlock). "Not configured" answers are values (`null` / `false`), not errors. An endpoint that
 * does not implement a read (s3rver answers 501 NotImplemented to all three: reference/standin-pitfalls.md §1)
 * gives an {@link Unsupported} value instead of failing the pass.
 */
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObservedBucket, Unsupported } from '../types.ts';
import type { ApiCalls } from '../aws/api-calls.ts';

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
 * Runs one read: the value, `notConfigured` for the named "nothing configured" error, or Unsupported for 501.
 * @throws the wrapped error for anything else.
 */
async function read<T, N>(operation: string, fn: () => Promise<T>, notConfiguredName: string, notConfigured: N, deps: S3ObserverDeps, bucket: string): Promise<T | N | Unsupported> {
  try {
    return await deps.calls.run('s3', operation, bucket, fn);
  } catch (err) {
    const e = awsError(err);
    if (e.name === notConfiguredName) return notConfigured;
    if (e.status === 501 || e.name === 'NotImplemented') return { unsupported: `${operation} answered 501 NotImplemented` };
    throw err;
  }
}

/** Smallest expiry in days among enabled rules that cover the whole bucket; `null` when there is none. */
export function wholeBucketExpiryDays(rules: readonly LifecycleRule[]): number | null {
  const days = rules
    .filter((r) => r.Status === 'Enabled' && r.Expiration?.Days !== undefined)
    .filter((r) => {
      const f = r.Filter;
      const prefix = f?.Prefix ?? r.Prefix ?? '';
      return prefix === '' && f?.Tag === undefined && f?.And === undefined && f?.ObjectSizeGreaterThan === undefined && f?.ObjectSizeLessThan === undefined;
    })
    .map((r) => r.Expiration!.Days!);
  return days.length > 0 ? Math.min(...days) : null;
}

function isUnsupported(v: unknown): v is Unsupported {
  return typeof v === 'object' && v !== null && 'unsupported' in v;
}

/**
 * Observes one bucket.
 * @throws AwsCallError when a read fails for another reason than "not configured" or 501.
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
  const block = publicAccess === null || isUnsupported(publicAccess) ? publicAccess : publicAccess.PublicAccessBlockConfiguration;
  return {
    name,
    exists: true,
    expireAfterDays: lifecycle === null || isUnsupported(lifecycle) ? lifecycle : wholeBucketExpiryDays(lifecycle.Rules ?? []),
    encryption:
      encryption === null || isUnsupported(encryption)
        ? encryption
        : (encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? null),
    blockPublicAccess: isUnsupported(block)
      ? block
      : block !== null && block !== undefined && block.BlockPublicAcls === true && block.IgnorePublicAcls === true && block.BlockPublicPolicy === true && block.RestrictPublicBuckets === true,
  };
}
