/**
 * Storage clients of the reconciler, from runtime configuration: S3 always (the regional endpoint, or
 * S3_ENDPOINT for a stand-in), Blob when AZURE_STORAGE_CONNECTION_STRING (dev) or AZURE_STORAGE_ACCOUNT_URL
 * (with an Entra identity from @azure/identity, loaded only then) is set. Without a Blob setting the keyframes
 * container is simply not observed.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Config } from '../services/platform/config.ts';
import { createS3Client } from '../services/platform/aws.ts';
import { createBlobServiceClient } from '../services/platform/blob.ts';

/** The clients and a way to release their sockets. */
export interface StorageClientSet {
  s3: S3Client;
  blob?: BlobServiceClient;
  destroy(): void;
}

/** Creates the storage clients the configuration allows. */
export async function createStorageClients(config: Config): Promise<StorageClientSet> {
  const s3 = createS3Client(config);
  let blob: BlobServiceClient | undefined;
  if (config.AZURE_STORAGE_CONNECTION_STRING) blob = createBlobServiceClient(config);
  else if (config.AZURE_STORAGE_ACCOUNT_URL) {
    const { DefaultAzureCredential } = await import('@azure/identity');
    blob = createBlobServiceClient(config, new DefaultAzureCredential());
  }
  return { s3, ...(blob ? { blob } : {}), destroy: () => s3.destroy() };
}
