/**
 * S3 stand-in: s3rver in-process on loopback, storing objects in a temp dir that `close()` removes.
 * s3rver answers 501 to bucket lifecycle, encryption, public-access-block and policy calls
 * (reference/standin-pitfalls.md §1); with `bucketConfig` the bucket-configuration stand-in
 * (devstack/emulators/s3-bucket-config) runs in front of it and serves those, and `endpoint` is its address.
 * That stand-in also checks presigned URLs signed with s3rver's key as S3 does: s3rver stores a presigned PUT of any
 * size or type, and accepts a changed signature, where S3 answers 403 SignatureDoesNotMatch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { startS3BucketConfig, type S3BucketConfigStandIn } from '../emulators/s3-bucket-config/index.ts';

/** s3rver's fixed development key pair (public, documented by s3rver): it refuses any other access key with 403. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Options of {@link startS3}. */
export interface S3Options {
  /**
   * Put the bucket-configuration stand-in in front of s3rver (`true`, or its `newBucketDefaults` setting).
   * @defaultValue false: plain s3rver, whose bucket-configuration calls answer 501
   */
  bucketConfig?: boolean | { newBucketDefaults: boolean };
}

/** A running S3 stand-in. `endpoint` is `http://127.0.0.1:PORT`. */
export interface S3StandIn {
  /** What S3 clients use: the configuration stand-in when there is one, else s3rver. */
  endpoint: string;
  /** s3rver's own address. */
  s3rverEndpoint: string;
  /** The configuration stand-in (call counts, faults), when started. */
  bucketConfig?: S3BucketConfigStandIn;
  close(): Promise<void>;
}

/** Starts s3rver with the given buckets already created (and the configuration stand-in when asked). */
export async function startS3(buckets: string[] = [], o: S3Options = {}): Promise<S3StandIn> {
  const directory = await mkdtemp(join(tmpdir(), 'ct-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = (await server.run()) as { address: string; port: number };
  const s3rverEndpoint = `http://127.0.0.1:${port}`;
  const stopS3rver = async (): Promise<void> => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  };
  let bucketConfig: S3BucketConfigStandIn | undefined;
  if (o.bucketConfig) {
    const newBucketDefaults = typeof o.bucketConfig === 'object' ? o.bucketConfig.newBucketDefaults : true;
    bucketConfig = await startS3BucketConfig({ upstream: s3rverEndpoint, newBucketDefaults, presignCredentials: S3RVER_CREDENTIALS }).catch(async (err: unknown) => {
      await stopS3rver();
      throw err;
    });
  }
  return {
    endpoint: bucketConfig?.endpoint ?? s3rverEndpoint,
    s3rverEndpoint,
    ...(bucketConfig ? { bucketConfig } : {}),
    close: async () => {
      await bucketConfig?.close();
      await stopS3rver();
    },
  };
}
