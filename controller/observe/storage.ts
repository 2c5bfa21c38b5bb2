/**
 * Observation of the storage a desired state declares, with whichever clients the pass has: the S3 temp bucket
 * (S3 client) and the keyframes container (Blob client). A failure is kept per resource (`{ error }`) so one
 * unreachable store does not hide the rest of the report.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { errorMessage } from '../../services/platform/errors.ts';
import type { ObservedStorage } from '../types.ts';
import type { ApiCalls } from '../aws/api-calls.ts';
import { observeS3Bucket } from './s3-bucket.ts';
import { observeBlobContainer } from './blob-container.ts';

/** Storage clients; a store without a client is not observed. */
export interface StorageClients {
  s3?: S3Client;
  blob?: BlobServiceClient;
}

/** Observes the declared storage. Never throws for a store's failure. */
export async function observeStorage(desired: DesiredState, clients: StorageClients, calls: ApiCalls): Promise<ObservedStorage | undefined> {
  const want = desired.spec.storage;
  if (!want) return undefined;
  const out: ObservedStorage = {};
  const { s3, blob } = clients;
  if (want.s3TempBucket && s3) {
    out.s3TempBucket = await observeS3Bucket(want.s3TempBucket.name, { s3, calls }).catch((err: unknown) => ({ error: errorMessage(err) }));
  }
  if (want.keyframes && blob) {
    const name = want.keyframes.container;
    out.keyframes = await observeBlobContainer(name, blob).catch((err: unknown) => ({ error: `blob container ${name}: ${errorMessage(err)}` }));
  }
  return out;
}
