import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { ApiCalls } from '../../controller/aws/api-calls.ts';
import { observeS3Bucket, ownedExpiryDays } from '../../controller/observe/s3-bucket.ts';
import { observeBlobContainer } from '../../controller/observe/blob-container.ts';
import { diff } from '../../controller/diff/diff.ts';
import { exitCodeOf, reconcile } from '../../controller/reconcile.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { renderPlanText } from '../../controller/report/plan-text.ts';
import type { ObservedStorage } from '../../controller/types.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { problems } from '../support/problems.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';
import { observedMatching } from './support/observed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const BUCKET = 'content-trends-dev-temp';

let stack: TestStack;
let emu: AwsEmulator;
let s3: S3Client;
let blob: BlobServiceClient;

const live = suite('storage observers against plain s3rver and Azurite');

live.before(async () => {
  [stack, emu] = await Promise.all([startTestStack('storage', { s3Buckets: [BUCKET], blob: true }), startAwsEmulator()]);
  s3 = new S3Client({ region: 'us-east-1', endpoint: stack.s3!.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1 });
  blob = BlobServiceClient.fromConnectionString(stack.blob!.connectionString, { retryOptions: { maxTries: 1 } });
  await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
});

live.after(async () => {
  s3.destroy();
  await Promise.all([stack.close(), emu.close()]);
});

live('plain s3rver: the bucket exists; lifecycle, encryption, public access (501) and policy (405) are Unsupported, not retried', async () => {
  const calls = new ApiCalls({ baseMs: 1, capMs: 2 });
  const b = await observeS3Bucket(BUCKET, { s3, calls });
  assert.equal(b, {
    name: BUCKET,
    exists: true,
    expireAfterDays: { unsupported: 'GetBucketLifecycleConfiguration answered 501 NotImplemented' },
    encryption: { unsupported: 'GetBucketEncryption answered 501 NotImplemented' },
    blockPublicAccess: { unsupported: 'GetPublicAccessBlock answered 501 NotImplemented' },
    tlsOnly: { unsupported: 'GetBucketPolicy answered 405 MethodNotAllowed' },
    documents: { arn: `arn:aws:s3:::${BUCKET}` },
  });
  assert.is(calls.count, 5, 'HeadBucket + four reads, each once');
});

live('a missing bucket is a value, not an error', async () => {
  assert.equal(await observeS3Bucket('no-such-bucket-here', { s3, calls: new ApiCalls() }), { name: 'no-such-bucket-here', exists: false });
});

live('Azurite: container existence, public access with stored access policies, and the account\'s soft-delete days', async () => {
  assert.equal(await observeBlobContainer('keyframes', blob), { name: 'keyframes', exists: false, softDeleteDays: null }, 'soft delete is read even without the container');
  const container = blob.getContainerClient('keyframes');
  await container.create();
  await blob.setProperties({ deleteRetentionPolicy: { enabled: true, days: 7 } });
  assert.equal(await observeBlobContainer('keyframes', blob), { name: 'keyframes', exists: true, publicAccess: 'none', signedIdentifiers: [], softDeleteDays: 7 });
  await container.setAccessPolicy('blob', [{ id: 'read-only', accessPolicy: { permissions: 'r' } }]);
  await blob.setProperties({ deleteRetentionPolicy: { enabled: false } });
  const seen = await observeBlobContainer('keyframes', blob);
  assert.equal([seen.publicAccess, seen.signedIdentifiers?.map((i) => i.id), seen.softDeleteDays], ['blob', ['read-only'], null]);
  await container.setAccessPolicy(undefined, []);
  await blob.setProperties({ deleteRetentionPolicy: { enabled: true, days: 7 } });
});

live('a full plan with storage on plain s3rver: bucket Unsupported by endpoint, container Synced, exit 0; a public container is drift', async () => {
  const clients = clientsFor(emu.endpoint);
  try {
    const deps = { ...clients, storage: { s3, blob }, taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 2 } };
    const { report } = await reconcile({ desired: DEV, source: 'desired-state/dev.yml', intent: 'plan' }, deps);
    assert.equal(driftReportProblems(report), []);
    const byResource = Object.fromEntries(report.resources.map((r) => [r.resource, r]));
    assert.is(byResource[`s3-bucket/${BUCKET}`]?.status, 'Unsupported');
    assert.equal(byResource[`s3-bucket/${BUCKET}`]?.reasons, [
      'Unsupported by endpoint: GetBucketLifecycleConfiguration answered 501 NotImplemented',
      'Unsupported by endpoint: GetBucketEncryption answered 501 NotImplemented',
      'Unsupported by endpoint: GetPublicAccessBlock answered 501 NotImplemented',
      'Unsupported by endpoint: GetBucketPolicy answered 405 MethodNotAllowed',
    ]);
    assert.is(byResource['blob-container/keyframes']?.status, 'Synced');
    assert.equal([report.summary.unsupported, report.summary.drifts], [1, 0]);
    assert.is(exitCodeOf(report), 0);
    assert.match(renderPlanText(report), /\n {2}\? s3-bucket\/content-trends-dev-temp\n {6}Unsupported by endpoint: GetBucketLifecycleConfiguration answered 501 NotImplemented\n/);
    assert.match(renderPlanText(report), /No drift: 13 resources in sync\. 1 not fully observable \(unsupported by endpoint\)\.\n$/);

    await blob.getContainerClient('keyframes').setAccessPolicy('container');
    const after = await reconcile({ desired: DEV, source: 'desired-state/dev.yml', intent: 'plan' }, deps);
    const container = after.report.resources.find((r) => r.resource === 'blob-container/keyframes')!;
    assert.is(container.status, 'Drifted');
    assert.equal(container.drifts.map((d) => [d.field, d.actual, d.desired, d.action]), [['publicAccess', 'container', 'none', 'update']]);
    assert.equal(after.report.audit, [], 'a plan writes nothing');
    assert.is(exitCodeOf(after.report), 2);
    await blob.getContainerClient('keyframes').setAccessPolicy(undefined, []);
  } finally {
    clients.ecs.destroy();
    clients.autoscaling.destroy();
  }
});

live('an unreachable store is an Error for that resource only', async () => {
  const clients = clientsFor(emu.endpoint);
  const dead = BlobServiceClient.fromConnectionString(stack.blob!.connectionString.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/, 'BlobEndpoint=http://127.0.0.1:9'), { retryOptions: { maxTries: 1 } });
  try {
    const { report } = await reconcile(
      { desired: DEV, source: 'desired-state/dev.yml', intent: 'plan' },
      { ...clients, storage: { s3, blob: dead }, taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 2 } },
    );
    const container = report.resources.find((r) => r.resource === 'blob-container/keyframes')!;
    assert.is(container.status, 'Error');
    assert.match(container.reasons[0]!, /^not observed: blob container keyframes: /);
    assert.is(report.resources.filter((r) => r.status === 'Error').length, 1);
    assert.equal(report.errors.map((e) => e.resource), ['blob-container/keyframes'], 'one error, named after its resource');
    assert.is(exitCodeOf(report), 1);
  } finally {
    clients.ecs.destroy();
    clients.autoscaling.destroy();
  }
});

const rules = suite('storage drift rules (pure)');

function storageOnly(storage: ObservedStorage): ReturnType<typeof diff> {
  return diff(DEV, { ...observedMatching(DEV), storage }).filter((d) => d.service === 'storage');
}

rules('a bucket that matches gives no drift; each differing setting is one update drift (enforce), or none (observe)', () => {
  const synced = { name: BUCKET, exists: true, expireAfterDays: 1, encryption: 'AES256', blockPublicAccess: true, tlsOnly: true };
  assert.equal(storageOnly({ s3TempBucket: synced }), []);
  const drifted = { name: BUCKET, exists: true, expireAfterDays: null, encryption: 'aws:kms', blockPublicAccess: false, tlsOnly: false };
  const drifts = storageOnly({ s3TempBucket: drifted });
  assert.equal(drifts.map((d) => [d.field, d.actual, d.desired, d.action, d.path]), [
    ['lifecycle.expirationDays', null, 1, 'update', '/spec/storage/s3TempBucket/expireAfterDays'],
    ['encryption.sseAlgorithm', 'aws:kms', 'AES256', 'update', '/spec/storage/s3TempBucket/encryption'],
    ['publicAccessBlock', false, true, 'update', '/spec/storage/s3TempBucket/blockPublicAccess'],
    ['policy.tlsOnly', false, true, 'update', '/spec/storage/s3TempBucket/tlsOnly'],
  ]);
  assert.is(drifts[0]!.reason, 'live expiry of lifecycle rule expire-temporary-videos (days) is unset, desired 1');
  const observing = structuredClone(DEV);
  observing.spec.storage!.s3TempBucket!.mode = 'observe';
  const seen = diff(observing, { ...observedMatching(observing), storage: { s3TempBucket: drifted } }).filter((d) => d.service === 'storage');
  assert.equal(seen.map((d) => d.action), ['none', 'none', 'none', 'none']);
  assert.match(seen[3]!.reason, /^observe mode, would update: live TLS-only policy statement \(DenyInsecureTransport\) is false, desired true$/);
});

rules('an Unsupported field is not compared; tlsOnly unset in the document is not managed', () => {
  const unsupported = { unsupported: 'GetBucketPolicy answered 405 MethodNotAllowed' };
  assert.equal(storageOnly({ s3TempBucket: { name: BUCKET, exists: true, expireAfterDays: 1, encryption: 'AES256', blockPublicAccess: true, tlsOnly: unsupported } }), []);
  const unmanaged = structuredClone(DEV);
  delete unmanaged.spec.storage!.s3TempBucket!.tlsOnly;
  const drifts = diff(unmanaged, { ...observedMatching(unmanaged), storage: { s3TempBucket: { name: BUCKET, exists: true, expireAfterDays: 1, encryption: 'AES256', blockPublicAccess: true, tlsOnly: false } } });
  assert.equal(drifts.filter((d) => d.service === 'storage'), []);
});

rules('a missing bucket is drift nobody corrects; a missing container is a create; soft delete is compared without the container', () => {
  const drifts = diff(DEV, {
    ...observedMatching(DEV),
    services: { ...observedMatching(DEV).services, reconciler: { policies: [] } },
    storage: { s3TempBucket: { name: BUCKET, exists: false }, keyframes: { name: 'keyframes', exists: false, softDeleteDays: 3 } },
  });
  assert.equal(drifts.map((d) => [d.resource, d.field, d.action]), [
    ['ecs-service/reconciler', 'service', 'none'],
    [`s3-bucket/${BUCKET}`, 'bucket', 'none'],
    ['blob-container/keyframes', 'container', 'create'],
    ['blob-container/keyframes', 'deleteRetentionPolicy.days', 'update'],
  ]);
});

rules('the document: tlsOnly is true or unset, a storage mode is enforce or observe; problems name file:line:column and path', () => {
  const text = readFileSync('desired-state/dev.yml', 'utf8').replace('      tlsOnly: true\n', '      tlsOnly: false\n      mode: sometimes\n');
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l === '      tlsOnly: false') + 1;
  assert.equal(problems(() => parseDesiredState(text, 'dev.yml', {})), [
    `dev.yml:${at}:16 /spec/storage/s3TempBucket/tlsOnly: must be true`,
    `dev.yml:${at + 1}:13 /spec/storage/s3TempBucket/mode: must be one of: enforce, observe`,
  ]);
});

rules('the owned expiry rule: only rule expire-temporary-videos counts, and only enabled, whole-bucket, by days', () => {
  assert.is(ownedExpiryDays([]), null);
  assert.is(ownedExpiryDays([{ ID: 'other', Status: 'Enabled', Filter: {}, Expiration: { Days: 2 } }]), null, 'another rule is not ours');
  assert.is(ownedExpiryDays([{ ID: 'expire-temporary-videos', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 3 } }]), 3);
  assert.is(ownedExpiryDays([{ ID: 'expire-temporary-videos', Status: 'Disabled', Filter: {}, Expiration: { Days: 3 } }]), null);
  assert.is(ownedExpiryDays([{ ID: 'expire-temporary-videos', Status: 'Enabled', Filter: { Prefix: 'uploads/' }, Expiration: { Days: 3 } }]), null);
  assert.is(ownedExpiryDays([{ ID: 'expire-temporary-videos', Status: 'Enabled', Filter: {}, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } }]), null);
});

live.run();
rules.run();
