import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { ApiCalls } from '../../controller/aws/api-calls.ts';
import { observeS3Bucket, wholeBucketExpiryDays } from '../../controller/observe/s3-bucket.ts';
import { observeBlobContainer } from '../../controller/observe/blob-container.ts';
import { diff } from '../../controller/diff/diff.ts';
import { exitCodeOf, reconcile } from '../../controller/reconcile.ts';
import { driftReportProblems } from '../../controller/report/plan-json.ts';
import { renderPlanText } from '../../controller/report/plan-text.ts';
import type { ObservedStorage } from '../../controller/types.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';
import { observedMatching } from './support/observed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const BUCKET = 'content-trends-dev-temp';

let stack: TestStack;
let emu: AwsEmulator;
let s3: S3Client;
let blob: BlobServiceClient;

const live = suite('storage observers against s3rver and Azurite');

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

live('s3rver: the bucket exists; lifecycle, encryption and public access are Unsupported (501), not retried', async () => {
  const calls = new ApiCalls({ baseMs: 1, capMs: 2 });
  const b = await observeS3Bucket(BUCKET, { s3, calls });
  assert.equal(b, {
    name: BUCKET,
    exists: true,
    expireAfterDays: { unsupported: 'GetBucketLifecycleConfiguration answered 501 NotImplemented' },
    encryption: { unsupported: 'GetBucketEncryption answered 501 NotImplemented' },
    blockPublicAccess: { unsupported: 'GetPublicAccessBlock answered 501 NotImplemented' },
  });
  assert.is(calls.count, 4, 'HeadBucket + three reads, each once');
});

live('a missing bucket is a value, not an error', async () => {
  assert.equal(await observeS3Bucket('no-such-bucket-here', { s3, calls: new ApiCalls() }), { name: 'no-such-bucket-here', exists: false });
});

live('Azurite: container existence, public access and soft-delete days', async () => {
  assert.equal(await observeBlobContainer('keyframes', blob), { name: 'keyframes', exists: false });
  const container = blob.getContainerClient('keyframes');
  await container.create();
  await blob.setProperties({ deleteRetentionPolicy: { enabled: true, days: 7 } });
  assert.equal(await observeBlobContainer('keyframes', blob), { name: 'keyframes', exists: true, publicAccess: 'none', softDeleteDays: 7 });
  await container.setAccessPolicy('blob');
  await blob.setProperties({ deleteRetentionPolicy: { enabled: false } });
  assert.equal(await observeBlobContainer('keyframes', blob), { name: 'keyframes', exists: true, publicAccess: 'blob', softDeleteDays: null });
  await container.setAccessPolicy(undefined, []);
  await blob.setProperties({ deleteRetentionPolicy: { enabled: true, days: 7 } });
});

live('a full pass with storage: bucket Unsupported by endpoint, container Synced, exit 0; a public container is drift', async () => {
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
    ]);
    assert.is(byResource['blob-container/keyframes']?.status, 'Synced');
    assert.equal([report.summary.unsupported, report.summary.drifts], [1, 0]);
    assert.is(exitCodeOf(report), 0);
    assert.match(renderPlanText(report), /\n {2}\? s3-bucket\/content-trends-dev-temp\n {6}Unsupported by endpoint: GetBucketLifecycleConfiguration answered 501 NotImplemented\n/);
    assert.match(renderPlanText(report), /No drift: 13 resources in sync\. 1 not fully observable \(unsupported by endpoint\)\.\n$/);

    await blob.getContainerClient('keyframes').setAccessPolicy('container');
    const after = await reconcile({ desired: DEV, source: 'desired-state/dev.yml', intent: 'apply' }, deps);
    const container = after.report.resources.find((r) => r.resource === 'blob-container/keyframes')!;
    assert.is(container.status, 'Drifted');
    assert.equal(container.drifts.map((d) => [d.field, d.actual, d.desired, d.action]), [['publicAccess', 'container', 'none', 'none']]);
    assert.equal(after.report.audit, [], 'storage is observe-only: nothing is written');
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

rules('a bucket that matches gives no drift; each differing policy is one observe-only drift', () => {
  assert.equal(storageOnly({ s3TempBucket: { name: BUCKET, exists: true, expireAfterDays: 1, encryption: 'AES256', blockPublicAccess: true } }), []);
  const drifts = storageOnly({ s3TempBucket: { name: BUCKET, exists: true, expireAfterDays: null, encryption: 'aws:kms', blockPublicAccess: false } });
  assert.equal(drifts.map((d) => [d.field, d.actual, d.desired, d.action, d.path]), [
    ['lifecycle.expirationDays', null, 1, 'none', '/spec/storage/s3TempBucket/expireAfterDays'],
    ['encryption.sseAlgorithm', 'aws:kms', 'AES256', 'none', '/spec/storage/s3TempBucket/encryption'],
    ['publicAccessBlock', false, true, 'none', '/spec/storage/s3TempBucket/blockPublicAccess'],
  ]);
  assert.match(drifts[0]!.reason, /^observe only: /);
});

rules('a missing bucket or container is drift; storage drift comes after every service', () => {
  const drifts = diff(DEV, {
    ...observedMatching(DEV),
    services: { ...observedMatching(DEV).services, reconciler: { policies: [] } },
    storage: { s3TempBucket: { name: BUCKET, exists: false }, keyframes: { name: 'keyframes', exists: false } },
  });
  assert.equal(drifts.map((d) => d.resource), ['ecs-service/reconciler', `s3-bucket/${BUCKET}`, 'blob-container/keyframes']);
});

rules('whole-bucket expiry: only enabled rules without a narrowing filter count; the smallest wins', () => {
  assert.is(wholeBucketExpiryDays([]), null);
  assert.is(
    wholeBucketExpiryDays([
      { ID: 'a', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 3 } },
      { ID: 'b', Status: 'Enabled', Filter: {}, Expiration: { Days: 2 } },
      { ID: 'c', Status: 'Disabled', Filter: {}, Expiration: { Days: 1 } },
      { ID: 'd', Status: 'Enabled', Filter: { Prefix: 'uploads/' }, Expiration: { Days: 1 } },
    ]),
    2,
  );
});

live.run();
rules.run();
