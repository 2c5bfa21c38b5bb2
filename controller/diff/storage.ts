/**
 * Storage drift (observe only: the reconciler reports, it does not write bucket or container policies, which
 * the Copilot addon and the storage account own). Fields the endpoint could not read (`Unsupported`) are not
 * compared; the report lists them. Resources are `s3-bucket/<name>` and `blob-container/<name>`, with
 * `service` = {@link STORAGE_SCOPE}.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import type { Drift, ObservedStorage, ResourceKind, Unsupported } from '../types.ts';

/** The `service` of storage drift and resources. */
export const STORAGE_SCOPE = 'storage';

function isUnsupported(v: unknown): v is Unsupported {
  return typeof v === 'object' && v !== null && 'unsupported' in v;
}

function drift(kind: ResourceKind, resource: string, path: string, field: string, desired: unknown, actual: unknown, hint: string): Drift {
  const show = (v: unknown): string => (v === null || v === undefined ? 'unset' : String(v));
  return {
    resource, kind, service: STORAGE_SCOPE, path, field, desired, actual: actual ?? null, action: 'none',
    reason: `observe only: live ${field} is ${show(actual)}, desired ${show(desired)}; ${hint}`,
  };
}

/** Resource ids of the storage the document declares. */
export function storageResources(desired: DesiredState): { bucket?: string; container?: string } {
  const s = desired.spec.storage;
  return {
    ...(s?.s3TempBucket ? { bucket: `s3-bucket/${s.s3TempBucket.name}` } : {}),
    ...(s?.keyframes ? { container: `blob-container/${s.keyframes.container}` } : {}),
  };
}

/** Reasons a storage resource could not be fully observed (Unsupported fields). */
export function unsupportedReasons(observed: ObservedStorage | undefined, kind: 's3-bucket' | 'blob-container'): string[] {
  if (kind === 'blob-container') return [];
  const b = observed?.s3TempBucket;
  if (!b || 'error' in b) return [];
  return [b.expireAfterDays, b.encryption, b.blockPublicAccess].filter(isUnsupported).map((u) => `Unsupported by endpoint: ${u.unsupported}`);
}

/** Drift of the S3 temp bucket and the keyframes container, in that order. */
export function storageDrifts(desired: DesiredState, observed: ObservedStorage | undefined): Drift[] {
  const out: Drift[] = [];
  const want = desired.spec.storage;
  const ids = storageResources(desired);
  const bucket = observed?.s3TempBucket;
  if (want?.s3TempBucket && ids.bucket && bucket && !('error' in bucket)) {
    const w = want.s3TempBucket;
    const p = '/spec/storage/s3TempBucket';
    const hint = 'set by the S3 bucket addon (CloudFormation), not by the reconciler';
    if (!bucket.exists) out.push(drift('s3-bucket', ids.bucket, p, 'bucket', 'present', null, hint));
    else {
      if (!isUnsupported(bucket.expireAfterDays) && bucket.expireAfterDays !== w.expireAfterDays) {
        out.push(drift('s3-bucket', ids.bucket, `${p}/expireAfterDays`, 'lifecycle.expirationDays', w.expireAfterDays, bucket.expireAfterDays, hint));
      }
      if (!isUnsupported(bucket.encryption) && bucket.encryption !== w.encryption) {
        out.push(drift('s3-bucket', ids.bucket, `${p}/encryption`, 'encryption.sseAlgorithm', w.encryption, bucket.encryption, hint));
      }
      if (!isUnsupported(bucket.blockPublicAccess) && bucket.blockPublicAccess !== w.blockPublicAccess) {
        out.push(drift('s3-bucket', ids.bucket, `${p}/blockPublicAccess`, 'publicAccessBlock', w.blockPublicAccess, bucket.blockPublicAccess, hint));
      }
    }
  }
  const container = observed?.keyframes;
  if (want?.keyframes && ids.container && container && !('error' in container)) {
    const w = want.keyframes;
    const p = '/spec/storage/keyframes';
    const hint = 'set on the storage account, not by the reconciler';
    if (!container.exists) out.push(drift('blob-container', ids.container, p, 'container', 'present', null, hint));
    else {
      if (container.publicAccess !== 'none') out.push(drift('blob-container', ids.container, `${p}/publicAccess`, 'publicAccess', 'none', container.publicAccess, hint));
      if (container.softDeleteDays !== w.softDeleteDays) {
        out.push(drift('blob-container', ids.container, `${p}/softDeleteDays`, 'deleteRetentionPolicy.days', w.softDeleteDays, container.softDeleteDays, hint));
      }
    }
  }
  return out;
}
