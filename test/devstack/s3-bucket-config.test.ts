/**
 * The S3 bucket-configuration stand-in (devstack/emulators/s3-bucket-config), driven through the real
 * @aws-sdk/client-s3 over HTTP: S3's "not configured" error codes, round trips that keep what was sent, S3's
 * checks on each document (MalformedXML, InvalidArgument, MalformedPolicy…), integrity headers, s3rver's own
 * answers passed through (NoSuchBucket, InvalidAccessKeyId), and everything else forwarded untouched (object
 * bytes, presigned URLs).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import {
  S3Client, CreateBucketCommand, DeleteBucketCommand, DeleteBucketEncryptionCommand, DeleteBucketLifecycleCommand, DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand, GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand,
  GetObjectCommand, GetPublicAccessBlockCommand, PutBucketEncryptionCommand, PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand, PutObjectCommand, PutPublicAccessBlockCommand, type LifecycleRule,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startS3, S3RVER_CREDENTIALS, type S3StandIn } from '../../devstack/standins/s3.ts';

const BUCKET = 'config-bucket';
const LEGACY = 'legacy-bucket';

let modern: S3StandIn;
let legacy: S3StandIn;
let s3: S3Client;
let old: S3Client;

function client(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string } = S3RVER_CREDENTIALS): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials, maxAttempts: 1, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** A client whose serialised request body is replaced by `body` (the SDK then checksums and signs that body). */
function clientSending(body: string): S3Client {
  const c = client(modern.endpoint);
  c.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { body?: unknown }).body = body;
      return next(args);
    },
    { step: 'serialize', priority: 'low', name: 'replaceBodyForTest' },
  );
  return c;
}

/** The S3 error a call rejects with: code (`name`) and HTTP status. */
async function s3Error(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('expected the call to fail');
}

const standIn = suite('S3 bucket-configuration stand-in');

standIn.before(async () => {
  [modern, legacy] = await Promise.all([
    startS3([BUCKET], { bucketConfig: true }),
    startS3([LEGACY], { bucketConfig: { newBucketDefaults: false } }),
  ]);
  s3 = client(modern.endpoint);
  old = client(legacy.endpoint);
});

standIn.after(async () => {
  s3.destroy();
  old.destroy();
  await Promise.all([modern.close(), legacy.close()]);
});

standIn('a bucket nothing configured: each subresource answers S3\'s own 404 code', async () => {
  assert.equal(await s3Error(old.send(new GetBucketLifecycleConfigurationCommand({ Bucket: LEGACY }))), { name: 'NoSuchLifecycleConfiguration', status: 404, message: 'The lifecycle configuration does not exist' });
  assert.equal(await s3Error(old.send(new GetBucketEncryptionCommand({ Bucket: LEGACY }))), { name: 'ServerSideEncryptionConfigurationNotFoundError', status: 404, message: 'The server side encryption configuration was not found' });
  assert.equal(await s3Error(old.send(new GetPublicAccessBlockCommand({ Bucket: LEGACY }))), { name: 'NoSuchPublicAccessBlockConfiguration', status: 404, message: 'The public access block configuration was not found' });
  assert.equal(await s3Error(old.send(new GetBucketPolicyCommand({ Bucket: LEGACY }))), { name: 'NoSuchBucketPolicy', status: 404, message: 'The bucket policy does not exist' });
});

standIn('a new bucket starts as S3 starts one since 2023: SSE-S3 and Block Public Access on; deleting them gives SSE-S3 and a 404', async () => {
  const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
  assert.equal(enc.ServerSideEncryptionConfiguration?.Rules, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }]);
  const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
  assert.equal(pab.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
  assert.is((await s3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).name, 'NoSuchLifecycleConfiguration');

  await s3.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/aws/s3' }, BucketKeyEnabled: true }] } }));
  const kms = await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
  assert.equal(kms.ServerSideEncryptionConfiguration?.Rules, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/aws/s3' }, BucketKeyEnabled: true }]);
  const deleted = await s3.send(new DeleteBucketEncryptionCommand({ Bucket: BUCKET }));
  assert.is(deleted.$metadata.httpStatusCode, 204);
  assert.is((await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');

  await s3.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
  assert.is((await s3Error(s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).name, 'NoSuchPublicAccessBlockConfiguration');
  await s3.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true } }));
  const partial = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
  assert.equal(partial.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false }, 'an omitted setting is false');
});

standIn('lifecycle: rules come back as sent (filters, tags, actions); an unnamed rule gets an ID; DELETE removes it', async () => {
  const rules: LifecycleRule[] = [
    { ID: 'expire-temporary-videos', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    { ID: 'tagged', Status: 'Disabled', Filter: { And: { Prefix: 'logs/', Tags: [{ Key: 'a', Value: 'b' }, { Key: 'c', Value: 'd' }] } }, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] },
    { Status: 'Enabled', Filter: { ObjectSizeGreaterThan: 1024 }, NoncurrentVersionExpiration: { NoncurrentDays: 7 } },
  ];
  const put = await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: rules } }));
  assert.is(put.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K');
  const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
  assert.equal(got.Rules?.slice(0, 2), rules.slice(0, 2));
  const third = got.Rules?.[2];
  assert.match(String(third?.ID), /^[A-Za-z0-9_-]{32}$/);
  assert.equal({ ...third, ID: undefined }, { ...rules[2], ID: undefined });
  await s3.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
  assert.is((await s3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).name, 'NoSuchLifecycleConfiguration');
});

standIn('malformed or invalid documents get S3\'s codes (MalformedXML, InvalidArgument, InvalidRequest) and change nothing', async () => {
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: [{ ID: 'keep', Status: 'Enabled', Filter: {}, Expiration: { Days: 3 } }] } }));
  const cases: [string, string, number][] = [
    ['<LifecycleConfiguration><Rule><ID>x</ID>', 'MalformedXML', 400], // not well-formed
    ['', 'MalformedXML', 400],
    ['<Lifecycle><Rule/></Lifecycle>', 'MalformedXML', 400], // wrong root
    ['<LifecycleConfiguration></LifecycleConfiguration>', 'MalformedXML', 400], // no rule
    ['<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 'MalformedXML', 400],
    ['<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><Colour>red</Colour></Rule></LifecycleConfiguration>', 'MalformedXML', 400],
    ['<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 'MalformedXML', 400], // no Filter nor Prefix
    ['<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument', 400],
    ['<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status></Rule></LifecycleConfiguration>', 'InvalidRequest', 400], // no action
    ['<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument', 400],
  ];
  for (const [body, name, status] of cases) {
    const c = clientSending(body);
    try {
      const e = await s3Error(c.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: [] } })));
      assert.equal([e.name, e.status], [name, status], body);
    } finally {
      c.destroy();
    }
  }
  const pab = clientSending('<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>');
  const enc = clientSending('<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>ROT13</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>');
  try {
    assert.equal((await s3Error(pab.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: {} })))).name, 'MalformedXML');
    assert.equal((await s3Error(enc.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [] } })))).name, 'MalformedXML');
  } finally {
    pab.destroy();
    enc.destroy();
  }
  const keyWithSse = await s3Error(s3.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256', KMSMasterKeyID: 'k' } }] } })));
  assert.equal([keyWithSse.name, keyWithSse.status], ['InvalidArgument', 400]);
  const kept = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
  assert.equal(kept.Rules?.map((r) => r.ID), ['keep'], 'a refused PUT changes nothing');
});

standIn('bucket policy: stored as sent; MalformedPolicy for bad documents; a public policy is refused while BlockPublicPolicy is on', async () => {
  const arn = `arn:aws:s3:::${BUCKET}`;
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [arn, `${arn}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
  });
  const put = await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy }));
  assert.is(put.$metadata.httpStatusCode, 204);
  assert.is((await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy, policy);
  const bad: [string, string][] = [
    ['not json', "Policies must be valid JSON and the first byte must be '{'"],
    [JSON.stringify({ Version: '2012-10-17' }), 'Missing required field Statement'],
    [JSON.stringify({ Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: arn }] }), 'Missing required field Principal'],
    [JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 's3:*', Resource: arn }] }), 'Invalid effect: Maybe'],
    [JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::another-bucket/*' }] }), 'Policy has invalid resource'],
    [JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ec2:RunInstances', Resource: arn }] }), 'Policy has invalid action'],
    [JSON.stringify({ Statement: [{ Sid: 'a', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: arn }, { Sid: 'a', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: arn }] }), 'Statement IDs (SID) in a single policy must be unique.'],
  ];
  for (const [doc, message] of bad) {
    assert.equal(await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: doc }))), { name: 'MalformedPolicy', status: 400, message }, doc);
  }
  const publicRead = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${arn}/*` }] });
  const denied = await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: publicRead })));
  assert.equal([denied.name, denied.status], ['AccessDenied', 403]);
  assert.is((await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy, policy, 'refused documents change nothing');
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
  assert.is((await s3Error(s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET })))).name, 'NoSuchBucketPolicy');
});

standIn('integrity headers: none is InvalidRequest, a wrong CRC32 or Content-MD5 is BadDigest, a malformed Content-MD5 InvalidDigest', async () => {
  const body = '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>';
  const md5 = createHash('md5').update(body).digest('base64');
  const send = (headers: Record<string, string>): Promise<Response> =>
    fetch(`${modern.endpoint}/${BUCKET}?publicAccessBlock`, {
      method: 'PUT', body,
      // s3rver verifies the access key of a SigV4 header, not the signature (s3rver 3.7 authentication.js).
      headers: { authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''), ...headers },
    });
  const code = async (r: Response): Promise<[number, string]> => [r.status, /<Code>([^<]+)<\/Code>/.exec(await r.text())?.[1] ?? ''];
  assert.equal(await code(await send({})), [400, 'InvalidRequest']);
  assert.equal(await code(await send({ 'content-md5': 'nonsense' })), [400, 'InvalidDigest']);
  assert.equal(await code(await send({ 'content-md5': createHash('md5').update('other').digest('base64') })), [400, 'BadDigest']);
  assert.equal(await code(await send({ 'x-amz-checksum-crc32': 'AAAAAA==' })), [400, 'BadDigest']);
  const ok = await send({ 'content-md5': md5 });
  assert.is(ok.status, 200);
  assert.is(ok.headers.get('x-amz-request-id')?.length, 16);
});

standIn('s3rver still judges the caller and the bucket: NoSuchBucket, InvalidAccessKeyId; anonymous configuration requests are AccessDenied', async () => {
  assert.equal((await s3Error(s3.send(new GetBucketPolicyCommand({ Bucket: 'no-such-bucket' })))).name, 'NoSuchBucket');
  const stranger = client(modern.endpoint, { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' });
  try {
    assert.equal((await s3Error(stranger.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).name, 'InvalidAccessKeyId');
  } finally {
    stranger.destroy();
  }
  const anonymous = await fetch(`${modern.endpoint}/${BUCKET}?policy`);
  assert.is(anonymous.status, 403);
  assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code>/);
  assert.is(modern.bucketConfig!.callCount('GetBucketPolicy') > 0, true);
  const garbled = await fetch(`${modern.endpoint}/%E0%A4%A?lifecycle`);
  assert.ok(garbled.status >= 400, 'a path that is not valid percent-encoding goes to s3rver, which refuses it');
  assert.is((await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }))).$metadata.httpStatusCode, 200, 'and the stand-in still serves');
});

standIn('a bucket deleted and created again through the stand-in starts over with the new-bucket defaults', async () => {
  const name = 'short-lived-bucket';
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await s3.send(new DeletePublicAccessBlockCommand({ Bucket: name }));
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: name, LifecycleConfiguration: { Rules: [{ ID: 'r', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }] } }));
  await s3.send(new DeleteBucketCommand({ Bucket: name }));
  assert.is((await s3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: name })))).name, 'NoSuchBucket');
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  assert.is((await s3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: name })))).name, 'NoSuchLifecycleConfiguration');
  assert.is((await s3.send(new GetPublicAccessBlockCommand({ Bucket: name }))).PublicAccessBlockConfiguration?.BlockPublicPolicy, true);
});

standIn('everything else is forwarded untouched: object bytes and a presigned PUT/GET round trip', async () => {
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/direct.bin', Body: big }));
  const direct = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/direct.bin' }));
  assert.is(sha(await direct.Body!.transformToByteArray()), sha(big));
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'a/presigned.bin' }), { expiresIn: 60 });
  assert.is((await fetch(putUrl, { method: 'PUT', body: big })).status, 200);
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'a/presigned.bin' }), { expiresIn: 60 });
  const fetched = await fetch(getUrl);
  assert.is(fetched.status, 200);
  assert.is(sha(new Uint8Array(await fetched.arrayBuffer())), sha(big));
  const missing = await s3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/nothing' })));
  assert.equal([missing.name, missing.status], ['NoSuchKey', 404]);
});

standIn('faults: a throttled or failing configuration call answers 503 SlowDown / 500 InternalError; forwarded calls are untouched', async () => {
  modern.bucketConfig!.faults.add({ operation: 'GetBucketEncryption', kind: 'throttle', times: 1 });
  modern.bucketConfig!.faults.add({ operation: 'PutPublicAccessBlock', kind: 'server-error', times: 1 });
  assert.equal((await s3Error(s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET })))).name, 'SlowDown');
  const e = await s3Error(s3.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { BlockPublicAcls: true } })));
  assert.equal([e.name, e.status], ['InternalError', 500]);
  assert.is((await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }))).$metadata.httpStatusCode, 200, 'the fault was used up');
});

standIn('a presigned URL is checked as S3 checks it: the signature, and the values of the headers it signed', async () => {
  const put = new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/t/clip one.mp4', ContentType: 'video/mp4', ContentLength: 8 });
  const url = await getSignedUrl(s3, put, { expiresIn: 300, signableHeaders: new Set(['content-type', 'content-length']) });
  const send = (headers: Record<string, string>, body: Buffer, at = url): Promise<Response> => fetch(at, { method: 'PUT', headers, body });
  const refused = async (res: Response): Promise<string> => `${res.status} ${/<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1]}`;
  assert.is(await refused(await send({ 'content-type': 'video/mp4' }, Buffer.alloc(9))), '403 SignatureDoesNotMatch', 'another size');
  assert.is(await refused(await send({ 'content-type': 'image/png' }, Buffer.alloc(8))), '403 SignatureDoesNotMatch', 'another type');
  assert.is(await refused(await send({}, Buffer.alloc(8))), '403 SignatureDoesNotMatch', 'a signed header missing');
  const tampered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
  assert.is(await refused(await send({ 'content-type': 'video/mp4' }, Buffer.alloc(8), tampered)), '403 SignatureDoesNotMatch', 'a changed signature');
  const ok = await send({ 'content-type': 'video/mp4' }, Buffer.from('8 bytes!'));
  assert.is(ok.status, 200, await ok.text());
  const got = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/t/clip one.mp4' }), { expiresIn: 300 }));
  assert.is(await got.text(), '8 bytes!', 'a presigned GET (no signed headers but host) passes the check');
});

standIn.run();
