/**
 * S3 stand-in: s3rver in-process on loopback, storing objects in a temp dir that `close()` removes.
 * s3rver answers 501 to bucket lifecycle, encryption, public-access-block and policy calls
 * (reference/standin-pitfalls.md §1).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's fixed development key pair (public, documented by s3rver): it refuses any other access key with 403. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** A running S3 stand-in. `endpoint` is `http://127.0.0.1:PORT`. */
export interface S3StandIn {
  endpoint: string;
  close(): Promise<void>;
}

/** Starts s3rver with the given buckets already created. */
export async function startS3(buckets: string[] = []): Promise<S3StandIn> {
  const directory = await mkdtemp(join(tmpdir(), 'ct-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = (await server.run()) as { address: string; port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
