/**
 * The reconciler managing storage over HTTP: the S3 temp bucket behind the bucket-configuration stand-in
 * (lifecycle rule, default encryption, Block Public Access, TLS-only policy statement) and the keyframes
 * container on Azurite (existence, public access, the account's soft-delete days). Drift is found, reported
 * only in plan, dry run and observe mode, corrected field by field in enforce mode with an audit line each
 * (keeping other lifecycle rules, policy statements and stored access policies), and the next pass plans nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import {
  S3Client, DeletePublicAccessBlockCommand, GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand,
  GetPublicAccessBlockCommand, PutBucketEncryptionCommand, PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { S3RVER_CREDENTIALS } from '../../devstack/standins/s3.ts';
import { parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { exitCodeOf, reconcile } from '../../controller/reconcile.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { renderPlanText } from '../../controller/report/plan-text.ts';
import type { DriftReport, ResourceReport } from '../../controller/types.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const BUCKET = 'content-trends-dev-temp';
const ARN = `arn:aws:s3:::${BUCKET}`;
const BUCKET_RESOURCE = `s3-bucket/${BUCKET}`;
const CONTAINER_RESOURCE = 'blob-container/keyframes';
const PUTS = ['PutBucketLifecycleConfiguration', 'PutBucketEncryption', 'PutPublicAccessBlock', 'PutBucketPolicy'];
/** A statement somebody else owns: it must survive the reconciler's policy write. */
const ACCOUNT_READ = { Sid: 'AllowAccountRead', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 's3:GetObject', Resource: `${ARN}/*` };

let stack: TestStack;
let emu: AwsEmulator;
let s3: S3Client;
let blob: BlobServiceClient;

const storage = suite('reconciler enforces storage settings (bucket-configuration stand-in, Azurite)');

storage.before(async () => {
  [stack, emu] = await Promise.all([startTestStack('storage-enforce', { s3Buckets: [BUCKET], s3BucketConfig: true, blob: true }), startAwsEmulator()]);
  // As production builds it (services/platform/aws.ts), with s3rver's key and the pass's retries only.
  s3 = new S3Client({
    region: 'us-east-1', endpoint: stack.s3!.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS, maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  blob = BlobServiceClient.fromConnectionString(stack.blob!.connectionString, { retryOptions: { maxTries: 1 } });
  await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
});

storage.after(async () => {
  s3.destroy();
  await Promise.all([stack.close(), emu.close()]);
});

/** Puts every managed setting out of line, behind the reconciler's back, next to settings it must keep. */
async function breakStorage(): Promise<void> {
  await s3.send(new PutBucketLifecycleConfigurationCommand({
    Bucket: BUCKET,
    LifecycleConfiguration: {
      Rules: [
        { ID: 'keep-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
        { ID: 'expire-temporary-videos', Status: 'Disabled', Filter: { Prefix: '' }, Expiration: { Days: 5 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
      ],
    },
  }));
  await s3.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true }] } }));
  await s3.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [ACCOUNT_READ] }) }));
  const container = blob.getContainerClient('keyframes');
  await container.createIfNotExists();
  await container.setAccessPolicy('container', [{ id: 'read-only', accessPolicy: { permissions: 'r' } }]);
  await blob.setProperties({ deleteRetentionPolicy: { enabled: true, days: 3 } });
  stack.s3!.bucketConfig!.resetCalls();
}

function puts(): number {
  return PUTS.reduce((n, op) => n + stack.s3!.bucketConfig!.callCount(op), 0);
}

async function pass(desired: DesiredState, intent: 'plan' | 'apply', extra: { dryRun?: boolean; retry?: { maxAttempts: number } } = {}): Promise<DriftReport> {
  const clients = clientsFor(emu.endpoint);
  try {
    const { report } = await reconcile(
      { desired, source: 'desired-state/dev.yml', intent, ...(extra.dryRun ? { dryRun: true } : {}) },
      { ...clients, storage: { s3, blob }, taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 2, ...extra.retry } },
    );
    assert.equal(driftReportProblems(report), [], 'the report follows schemas/drift-report.schema.json');
    return report;
  } finally {
    clients.ecs.destroy();
    clients.autoscaling.destroy();
  }
}

function resource(report: DriftReport, id: string): ResourceReport {
  const r = report.resources.find((x) => x.resource === id);
  if (!r) throw new Error(`no ${id} in the report`);
  return r;
}

const DRIFTED_FIELDS = [
  [BUCKET_RESOURCE, 'lifecycle.expirationDays', null, 1],
  [BUCKET_RESOURCE, 'encryption.sseAlgorithm', 'aws:kms', 'AES256'],
  [BUCKET_RESOURCE, 'publicAccessBlock', false, true],
  [BUCKET_RESOURCE, 'policy.tlsOnly', false, true],
  [CONTAINER_RESOURCE, 'publicAccess', 'container', 'none'],
  [CONTAINER_RESOURCE, 'deleteRetentionPolicy.days', 3, 7],
];

storage('plan: every drifted setting is reported as an update; nothing is written (exit 2)', async () => {
  await breakStorage();
  const report = await pass(DEV, 'plan');
  const drifts = report.resources.flatMap((r) => r.drifts).filter((d) => d.service === 'storage');
  assert.equal(drifts.map((d) => [d.resource, d.field, d.actual, d.desired]), DRIFTED_FIELDS);
  assert.ok(drifts.every((d) => d.action === 'update'));
  assert.equal([resource(report, BUCKET_RESOURCE).status, resource(report, CONTAINER_RESOURCE).status], ['Drifted', 'Drifted']);
  assert.equal(report.audit, []);
  assert.is(puts(), 0, 'no configuration PUT reached the stand-in');
  assert.is(exitCodeOf(report), 2);
  assert.match(renderPlanText(report), /\n {2}~ s3-bucket\/content-trends-dev-temp\n {6}~ lifecycle\.expirationDays: \(none\) → 1 {3}# \/spec\/storage\/s3TempBucket\/expireAfterDays\n/);
});

storage('apply --dry-run: one dry-run audit line per field, nothing written', async () => {
  await breakStorage();
  const report = await pass(DEV, 'apply', { dryRun: true });
  assert.equal(report.audit.map((a) => [a.resource, a.field, a.before, a.after, a.outcome]), DRIFTED_FIELDS.map((f) => [...f, 'dry-run']));
  assert.equal(report.audit.map((a) => a.operation), [...PUTS, 'SetContainerAccessPolicy', 'SetBlobServiceProperties']);
  assert.ok(resource(report, BUCKET_RESOURCE).reasons.includes('dry run: not written'));
  assert.is(puts(), 0);
  assert.is((await blob.getContainerClient('keyframes').getAccessPolicy()).blobPublicAccess, 'container');
});

storage('observe mode on the storage resources: drift reported with action none, nothing written by apply', async () => {
  await breakStorage();
  const observing = structuredClone(DEV);
  observing.spec.storage!.s3TempBucket!.mode = 'observe';
  observing.spec.storage!.keyframes!.mode = 'observe';
  const report = await pass(observing, 'apply');
  const drifts = report.resources.flatMap((r) => r.drifts).filter((d) => d.service === 'storage');
  assert.is(drifts.length, 6);
  assert.ok(drifts.every((d) => d.action === 'none' && d.reason.startsWith('observe mode, would update: ')));
  assert.equal(report.audit, []);
  assert.is(puts(), 0);
  assert.is((await blob.getProperties()).deleteRetentionPolicy?.days, 3);
});

storage('enforce: each setting corrected by its own write with an audit line; what others own is kept; the next pass plans nothing', async () => {
  await breakStorage();
  const report = await pass(DEV, 'apply');
  assert.equal(report.audit.map((a) => [a.resource, a.field, a.before, a.after, a.outcome]), DRIFTED_FIELDS.map((f) => [...f, 'applied']));
  assert.ok(report.audit.every((a) => !Number.isNaN(Date.parse(a.time))));
  for (const op of PUTS) assert.is(stack.s3!.bucketConfig!.callCount(op), 1, `${op} sent once`);
  const bucket = resource(report, BUCKET_RESOURCE);
  assert.is(bucket.status, 'Synced');
  assert.equal(bucket.written, ['lifecycle.expirationDays', 'encryption.sseAlgorithm', 'publicAccessBlock', 'policy.tlsOnly']);
  assert.equal(bucket.reasons[0], 'corrected lifecycle.expirationDays: unset → 1');
  assert.is(resource(report, CONTAINER_RESOURCE).status, 'Synced');
  assert.is(exitCodeOf(report), 0);

  const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
  assert.equal(lifecycle.Rules, [
    { ID: 'keep-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
    { ID: 'expire-temporary-videos', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
  ], 'the other rule and the rule\'s other action are kept');
  const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
  assert.equal(encryption.ServerSideEncryptionConfiguration?.Rules, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }]);
  const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
  assert.equal(block.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
  const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy ?? '{}') as { Version: string; Statement: unknown[] };
  assert.equal(policy, {
    Version: '2012-10-17',
    Statement: [
      ACCOUNT_READ,
      { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [ARN, `${ARN}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  }, 'the other statement is kept; ours is merged by Sid');
  const access = await blob.getContainerClient('keyframes').getAccessPolicy();
  assert.equal([access.blobPublicAccess, access.signedIdentifiers.map((i) => i.id)], [undefined, ['read-only']], 'private, stored access policy kept');
  assert.equal((await blob.getProperties()).deleteRetentionPolicy, { enabled: true, days: 7 });

  stack.s3!.bucketConfig!.resetCalls();
  const again = await pass(DEV, 'apply');
  assert.is(again.summary.drifts, 0);
  assert.equal(again.audit, []);
  assert.is(puts(), 0, 'zero writes at steady state');
  assert.equal([resource(again, BUCKET_RESOURCE).status, resource(again, CONTAINER_RESOURCE).status], ['Synced', 'Synced']);
  assert.is(exitCodeOf(again), 0);
});

storage('ignore paths and the write cap: an ignored field is neither reported nor written; writes past the cap wait and the report names both sides', async () => {
  await breakStorage();
  const capped = structuredClone(DEV);
  capped.spec.management.ignore = ['/spec/storage/s3TempBucket/tlsOnly'];
  capped.spec.management.maxWritesPerPass = 2;
  const report = await pass(capped, 'apply');
  assert.is(report.summary.ignored, 1);
  assert.equal(report.audit.map((a) => [a.field, a.outcome]), [
    ['lifecycle.expirationDays', 'applied'], ['encryption.sseAlgorithm', 'applied'], ['publicAccessBlock', 'deferred'],
    ['publicAccess', 'deferred'], ['deleteRetentionPolicy.days', 'deferred'],
  ]);
  const bucket = resource(report, BUCKET_RESOURCE);
  assert.equal([bucket.status, bucket.written, bucket.unwritten], ['Drifted', ['lifecycle.expirationDays', 'encryption.sseAlgorithm'], ['publicAccessBlock']]);
  assert.ok(bucket.reasons.some((r) => r.startsWith('partially applied (service storage): written s3-bucket/content-trends-dev-temp lifecycle.expirationDays, encryption.sseAlgorithm; not written s3-bucket/content-trends-dev-temp publicAccessBlock')));
  assert.is(stack.s3!.bucketConfig!.callCount('PutBucketPolicy'), 0, 'the ignored field is not written');
  const next = await pass(capped, 'apply');
  assert.equal(next.audit.map((a) => [a.field, a.outcome]), [['publicAccessBlock', 'applied'], ['publicAccess', 'applied'], ['deleteRetentionPolicy.days', 'deferred']]);
});

storage('a write that keeps failing: the resource is Error naming the fields written and not written; the other writes go on', async () => {
  await breakStorage();
  stack.s3!.bucketConfig!.faults.add({ operation: 'PutBucketPolicy', kind: 'server-error' });
  try {
    const report = await pass(DEV, 'apply', { retry: { maxAttempts: 2 } });
    assert.is(stack.s3!.bucketConfig!.callCount('PutBucketPolicy'), 2, 'retried once, then given up');
    const bucket = resource(report, BUCKET_RESOURCE);
    assert.is(bucket.status, 'Error');
    assert.match(bucket.reasons[0]!, /^write failed: PutBucketPolicy s3-bucket\/content-trends-dev-temp: InternalError: We encountered an internal error\. Please try again\. \(HTTP 500\)/);
    assert.equal([bucket.written, bucket.unwritten], [['lifecycle.expirationDays', 'encryption.sseAlgorithm', 'publicAccessBlock'], ['policy.tlsOnly']]);
    assert.equal(report.errors.map((e) => e.resource), [BUCKET_RESOURCE]);
    assert.is(resource(report, CONTAINER_RESOURCE).status, 'Synced', 'the container was still corrected');
    assert.is(exitCodeOf(report), 1);
  } finally {
    stack.s3!.bucketConfig!.faults.clear();
  }
  const healed = await pass(DEV, 'apply');
  assert.equal(healed.audit.map((a) => [a.operation, a.outcome]), [['PutBucketPolicy', 'applied']], 'the next pass writes only what is left');
});

storage('a missing container is created (private) in enforce mode', async () => {
  await blob.getContainerClient('keyframes').delete();
  const report = await pass(DEV, 'apply');
  assert.equal(report.audit.map((a) => [a.resource, a.field, a.before, a.after, a.operation, a.outcome]), [[CONTAINER_RESOURCE, 'container', null, 'present', 'CreateContainer', 'applied']]);
  assert.is((await blob.getContainerClient('keyframes').getAccessPolicy()).blobPublicAccess, undefined);
  assert.is((await pass(DEV, 'plan')).summary.drifts, 0);
});

storage.run();
