/**
 * Storage drift: the S3 temp bucket's expiry rule, default encryption, Block Public Access and TLS-only policy
 * statement, and the keyframes container's existence, public access and the account's blob soft-delete days.
 * In `enforce` mode (the document's, or the resource's own `mode`) each difference is an `update` (a missing
 * container a `create`); in `observe` mode the action is `none`. A missing bucket is never created (the
 * Copilot addon creates it). Fields the endpoint could not read (`Unsupported`) are not compared; the report
 * lists them. Resources are `s3-bucket/<name>` and `blob-container/<name>`, with `service` = {@link STORAGE_SCOPE}.
 */
import type { DesiredState, ManagementMode } from '../../services/platform/desired-state.ts';
import type { Drift, DriftAction, ObservedStorage, ResourceKind, Unsupported } from '../types.ts';
import { EXPIRY_RULE_ID, TLS_ONLY_SID } from '../observe/s3-bucket.ts';

/** The `service` of storage drift and resources. */
export const STORAGE_SCOPE = 'storage';

function isUnsupported(v: unknown): v is Unsupported {
  return typeof v === 'object' && v !== null && 'unsupported' in v;
}

/** Management mode of a storage resource: its own `mode`, else the document's. */
export function storageMode(desired: DesiredState, which: 's3TempBucket' | 'keyframes'): ManagementMode {
  return desired.spec.storage?.[which]?.mode ?? desired.spec.management.mode;
}

function show(v: unknown): string {
  return v === null || v === undefined ? 'unset' : String(v);
}

interface Ctx {
  kind: ResourceKind;
  resource: string;
  observe: boolean;
  out: Drift[];
}

function add(ctx: Ctx, path: string, field: string, desired: unknown, actual: unknown, action: DriftAction, reason: string): void {
  const blocked = ctx.observe && action !== 'none';
  ctx.out.push({
    resource: ctx.resource, kind: ctx.kind, service: STORAGE_SCOPE, path, field, desired, actual: actual ?? null,
    action: blocked ? 'none' : action,
    reason: blocked ? `observe mode, would ${action}: ${reason}` : reason,
  });
}

/** Adds an `update` when `actual` is readable and differs from `desired`. */
function compare(ctx: Ctx, path: string, field: string, desired: unknown, actual: unknown, what = field): void {
  if (isUnsupported(actual) || actual === desired) return;
  add(ctx, path, field, desired, actual, 'update', `live ${what} is ${show(actual)}, desired ${show(desired)}`);
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
  return [b.expireAfterDays, b.encryption, b.blockPublicAccess, b.tlsOnly].filter(isUnsupported).map((u) => `Unsupported by endpoint: ${u.unsupported}`);
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
    const ctx: Ctx = { kind: 's3-bucket', resource: ids.bucket, observe: storageMode(desired, 's3TempBucket') === 'observe', out };
    if (!bucket.exists) {
      add(ctx, p, 'bucket', 'present', null, 'none', 'no such bucket; the bucket is created by the Copilot addon (copilot/environments/addons/temp-bucket.yml), not by the reconciler');
    } else {
      compare(ctx, `${p}/expireAfterDays`, 'lifecycle.expirationDays', w.expireAfterDays, bucket.expireAfterDays, `expiry of lifecycle rule ${EXPIRY_RULE_ID} (days)`);
      compare(ctx, `${p}/encryption`, 'encryption.sseAlgorithm', w.encryption, bucket.encryption, 'default encryption');
      compare(ctx, `${p}/blockPublicAccess`, 'publicAccessBlock', w.blockPublicAccess, bucket.blockPublicAccess, 'Block Public Access (all four settings)');
      if (w.tlsOnly !== undefined) compare(ctx, `${p}/tlsOnly`, 'policy.tlsOnly', w.tlsOnly, bucket.tlsOnly, `TLS-only policy statement (${TLS_ONLY_SID})`);
    }
  }
  const container = observed?.keyframes;
  if (want?.keyframes && ids.container && container && !('error' in container)) {
    const w = want.keyframes;
    const p = '/spec/storage/keyframes';
    const ctx: Ctx = { kind: 'blob-container', resource: ids.container, observe: storageMode(desired, 'keyframes') === 'observe', out };
    if (!container.exists) add(ctx, p, 'container', 'present', null, 'create', `no container ${w.container}`);
    else compare(ctx, `${p}/publicAccess`, 'publicAccess', 'none', container.publicAccess, 'public access level');
    compare(ctx, `${p}/softDeleteDays`, 'deleteRetentionPolicy.days', w.softDeleteDays, container.softDeleteDays, 'blob soft-delete retention of the account (days)');
  }
  return out;
}
