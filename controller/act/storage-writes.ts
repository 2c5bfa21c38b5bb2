/**
 * Writes that correct storage drift, one per drifted setting, planned from the observation (pure) and sent
 * through the real clients:
 * - S3 temp bucket: PutBucketLifecycleConfiguration (the reconciler's rule {@link EXPIRY_RULE_ID} set to expire
 *   the whole bucket after the desired days; every other rule kept as read, and the rule's other actions too),
 *   PutBucketEncryption (the desired algorithm; a live `BucketKeyEnabled` kept), PutPublicAccessBlock (all four
 *   on), PutBucketPolicy (the statement {@link TLS_ONLY_SID} replaced or added; every other statement kept).
 *   S3 replaces a whole subresource on each PUT (Amazon S3 API reference), hence the merges.
 * - Keyframes container: CreateContainer (private), SetContainerAccessPolicy without a public access level
 *   (stored access policies kept: the call replaces them), and SetBlobServiceProperties with only
 *   `deleteRetentionPolicy` (Blob REST "Set Blob Service Properties": elements left out keep their value).
 * Each write is idempotent. S3 calls go through the pass's retrying `ApiCalls`; Blob calls through the Azure
 * SDK's own retry policy.
 */
import {
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type LifecycleRule,
  type PutBucketEncryptionCommandInput,
  type PutBucketLifecycleConfigurationCommandInput,
  type PutBucketPolicyCommandInput,
  type PutPublicAccessBlockCommandInput,
} from '@aws-sdk/client-s3';
import type { SignedIdentifier } from '@azure/storage-blob';
import type { DesiredState } from '../../services/platform/desired-state.ts';
import type { Drift, ObservedBucket, ObservedStorage } from '../types.ts';
import type { ApiCalls } from '../aws/api-calls.ts';
import type { StorageClients } from '../observe/storage.ts';
import { EXPIRY_RULE_ID, TLS_ONLY_SID, policyStatements } from '../observe/s3-bucket.ts';

/** One storage write, with the drift it corrects. */
export type StorageWrite =
  | { operation: 'PutBucketLifecycleConfiguration'; resource: string; drifts: Drift[]; input: PutBucketLifecycleConfigurationCommandInput }
  | { operation: 'PutBucketEncryption'; resource: string; drifts: Drift[]; input: PutBucketEncryptionCommandInput }
  | { operation: 'PutPublicAccessBlock'; resource: string; drifts: Drift[]; input: PutPublicAccessBlockCommandInput }
  | { operation: 'PutBucketPolicy'; resource: string; drifts: Drift[]; input: PutBucketPolicyCommandInput }
  | { operation: 'CreateContainer'; resource: string; drifts: Drift[]; input: { container: string } }
  | { operation: 'SetContainerAccessPolicy'; resource: string; drifts: Drift[]; input: { container: string; signedIdentifiers: SignedIdentifier[] } }
  | { operation: 'SetBlobServiceProperties'; resource: string; drifts: Drift[]; input: { deleteRetentionPolicy: { enabled: true; days: number } } };

/** The reconciler's expiry rule: whole bucket, enabled, expiring after `days`; its other actions kept from `live`. */
function expiryRule(days: number, live: LifecycleRule | undefined): LifecycleRule {
  const { Prefix: _legacy, Filter: _filter, Expiration: _expiration, Status: _status, ID: _id, ...actions } = live ?? {};
  return { ID: EXPIRY_RULE_ID, Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: days }, ...actions };
}

/** The TLS-only statement for the bucket `arn` (the same statement the Copilot addon writes). */
export function tlsOnlyStatement(arn: string): Record<string, unknown> {
  return {
    Sid: TLS_ONLY_SID, Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [arn, `${arn}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/** The live policy with the TLS-only statement merged in by Sid; `undefined` when the live policy cannot be parsed. */
function mergedPolicy(live: string | null, arn: string): string | undefined {
  const statements = live === null ? [] : policyStatements(live);
  if (!statements) return undefined;
  const doc = live === null ? { Version: '2012-10-17' } : (JSON.parse(live) as Record<string, unknown>);
  const kept = statements.filter((s) => !(typeof s === 'object' && s !== null && (s as Record<string, unknown>).Sid === TLS_ONLY_SID));
  return JSON.stringify({ ...doc, Statement: [...kept, tlsOnlyStatement(arn)] });
}

function bucketWrites(desired: DesiredState, bucket: ObservedBucket, drifts: Drift[]): StorageWrite[] {
  const want = desired.spec.storage?.s3TempBucket;
  const docs = bucket.documents;
  if (!want || !docs) return [];
  const out: StorageWrite[] = [];
  const resource = drifts[0]!.resource;
  const of = (field: string): Drift[] => drifts.filter((d) => d.field === field);
  const Bucket = bucket.name;
  const lifecycle = of('lifecycle.expirationDays');
  if (lifecycle.length > 0 && docs.lifecycleRules) {
    const rules = docs.lifecycleRules;
    const Rules = [...rules.filter((r) => r.ID !== EXPIRY_RULE_ID), expiryRule(want.expireAfterDays, rules.find((r) => r.ID === EXPIRY_RULE_ID))];
    out.push({ operation: 'PutBucketLifecycleConfiguration', resource, drifts: lifecycle, input: { Bucket, LifecycleConfiguration: { Rules } } });
  }
  const encryption = of('encryption.sseAlgorithm');
  if (encryption.length > 0) {
    const rule = { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: want.encryption }, ...(docs.bucketKeyEnabled !== undefined ? { BucketKeyEnabled: docs.bucketKeyEnabled } : {}) };
    out.push({ operation: 'PutBucketEncryption', resource, drifts: encryption, input: { Bucket, ServerSideEncryptionConfiguration: { Rules: [rule] } } });
  }
  const block = of('publicAccessBlock');
  if (block.length > 0) {
    const PublicAccessBlockConfiguration = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
    out.push({ operation: 'PutPublicAccessBlock', resource, drifts: block, input: { Bucket, PublicAccessBlockConfiguration } });
  }
  const tls = of('policy.tlsOnly');
  if (tls.length > 0 && docs.policy !== undefined) {
    const Policy = mergedPolicy(docs.policy, docs.arn);
    if (Policy !== undefined) out.push({ operation: 'PutBucketPolicy', resource, drifts: tls, input: { Bucket, Policy } });
  }
  return out;
}

/**
 * Plans the writes for storage drift whose action is `update` or `create`.
 * @returns writes in a fixed order (bucket: lifecycle, encryption, public access block, policy; then container:
 *   create or access policy, then soft delete); drift no write can fix is left out (it stays in the report).
 */
export function planStorageWrites(desired: DesiredState, observed: ObservedStorage | undefined, drifts: readonly Drift[]): StorageWrite[] {
  const fixable = drifts.filter((d) => d.action !== 'none' && (d.kind === 's3-bucket' || d.kind === 'blob-container'));
  const out: StorageWrite[] = [];
  const bucket = observed?.s3TempBucket;
  const bucketDrifts = fixable.filter((d) => d.kind === 's3-bucket');
  if (bucket && !('error' in bucket) && bucketDrifts.length > 0) out.push(...bucketWrites(desired, bucket, bucketDrifts));
  const container = observed?.keyframes;
  const want = desired.spec.storage?.keyframes;
  const containerDrifts = fixable.filter((d) => d.kind === 'blob-container');
  if (container && !('error' in container) && want && containerDrifts.length > 0) {
    const resource = containerDrifts[0]!.resource;
    const create = containerDrifts.filter((d) => d.field === 'container');
    if (create.length > 0) out.push({ operation: 'CreateContainer', resource, drifts: create, input: { container: want.container } });
    const access = containerDrifts.filter((d) => d.field === 'publicAccess');
    if (access.length > 0) out.push({ operation: 'SetContainerAccessPolicy', resource, drifts: access, input: { container: want.container, signedIdentifiers: container.signedIdentifiers ?? [] } });
    const retention = containerDrifts.filter((d) => d.field === 'deleteRetentionPolicy.days');
    if (retention.length > 0) out.push({ operation: 'SetBlobServiceProperties', resource, drifts: retention, input: { deleteRetentionPolicy: { enabled: true, days: want.softDeleteDays } } });
  }
  return out;
}

/**
 * Sends one storage write.
 * @throws AwsCallError (S3, after the pass's retries), Error (Azure SDK), or Error when the pass has no client
 *   for the store.
 */
export async function sendStorageWrite(w: StorageWrite, clients: StorageClients | undefined, calls: ApiCalls): Promise<void> {
  const { s3, blob } = clients ?? {};
  const target = w.resource;
  switch (w.operation) {
    case 'PutBucketLifecycleConfiguration':
    case 'PutBucketEncryption':
    case 'PutPublicAccessBlock':
    case 'PutBucketPolicy': {
      if (!s3) throw new Error(`${w.operation} ${target}: no S3 client`);
      if (w.operation === 'PutBucketLifecycleConfiguration') await calls.run('s3', w.operation, target, () => s3.send(new PutBucketLifecycleConfigurationCommand(w.input)));
      else if (w.operation === 'PutBucketEncryption') await calls.run('s3', w.operation, target, () => s3.send(new PutBucketEncryptionCommand(w.input)));
      else if (w.operation === 'PutPublicAccessBlock') await calls.run('s3', w.operation, target, () => s3.send(new PutPublicAccessBlockCommand(w.input)));
      else await calls.run('s3', w.operation, target, () => s3.send(new PutBucketPolicyCommand(w.input)));
      return;
    }
    case 'CreateContainer':
    case 'SetContainerAccessPolicy':
    case 'SetBlobServiceProperties': {
      if (!blob) throw new Error(`${w.operation} ${target}: no Blob client`);
      if (w.operation === 'CreateContainer') await blob.getContainerClient(w.input.container).createIfNotExists();
      else if (w.operation === 'SetContainerAccessPolicy') await blob.getContainerClient(w.input.container).setAccessPolicy(undefined, w.input.signedIdentifiers);
      else await blob.setProperties({ deleteRetentionPolicy: w.input.deleteRetentionPolicy });
      return;
    }
  }
}
