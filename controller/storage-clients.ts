/**
 * Storage clients of the reconciler, from runtime configuration: S3 always (the regional endpoint, or
 * S3_ENDPOINT for a stand-in), Blob when AZURE_STORAGE_CONNECTION_STRING (dev) or AZURE_STORAGE_ACCOUNT_URL is
 * set. With the account URL the Blob client authenticates with the one credential every process builds from
 * AI_AUTH (services/platform/model-credentials.ts `createModelCredentialFromConfig`: on ECS Fargate
 * `aws-web-identity`, an STS GetWebIdentityToken JWT exchanged with Entra), the same rule as
 * services/worker/worker-runtime.ts and services/api/main.ts. Without a Blob setting the keyframes container is
 * simply not observed.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobServiceClient } from '@azure/storage-blob';
import { isTokenCredential } from '@azure/core-auth';
import type { Config } from '../services/platform/config.ts';
import { createS3Client } from '../services/platform/aws.ts';
import { createBlobServiceClient } from '../services/platform/blob.ts';
import { ValidationError } from '../services/platform/errors.ts';
import { createModelCredentialFromConfig, type CredentialOverrides } from '../services/platform/model-credentials.ts';

/** The clients and a way to release their sockets. */
export interface StorageClientSet {
  s3: S3Client;
  blob?: BlobServiceClient;
  destroy(): void;
}

/**
 * Creates the storage clients the configuration allows. Builds clients only: no request is sent.
 * @param overrides client settings that are not configuration (tests point STS and Entra at stand-ins;
 *   production passes none).
 * @throws ValidationError when AZURE_STORAGE_ACCOUNT_URL is set without a connection string and AI_AUTH does not
 *   give a token credential (`key` authenticates model calls only), or from createModelCredentialFromConfig
 *   (identity settings missing).
 */
export async function createStorageClients(config: Config, overrides: CredentialOverrides = {}): Promise<StorageClientSet> {
  let blob: BlobServiceClient | undefined;
  if (config.AZURE_STORAGE_CONNECTION_STRING) blob = createBlobServiceClient(config);
  else if (config.AZURE_STORAGE_ACCOUNT_URL) {
    const credential = createModelCredentialFromConfig(config, overrides);
    if (!isTokenCredential(credential)) {
      throw new ValidationError('blob storage is not configured:', [
        {
          where: 'AZURE_STORAGE_ACCOUNT_URL',
          message: `needs an Entra identity, but AI_AUTH is "${config.AI_AUTH}" (a model key); set AZURE_STORAGE_CONNECTION_STRING (dev) or an identity mode of AI_AUTH`,
        },
      ]);
    }
    blob = createBlobServiceClient(config, credential);
  }
  const s3 = createS3Client(config);
  return { s3, ...(blob ? { blob } : {}), destroy: () => s3.destroy() };
}
