/**
 * Azure Blob Storage client. Production uses the account URL with an Entra credential (no key); the dev profile
 * may use a full connection string (Azurite needs the full form, not `UseDevelopmentStorage=true`, or its
 * BlobEndpoint is ignored: reference/standin-pitfalls.md §2).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';

/** The subset of configuration the Blob client needs. */
export interface BlobClientConfig {
  AZURE_STORAGE_ACCOUNT_URL?: string;
  AZURE_STORAGE_CONNECTION_STRING?: string;
}

/**
 * @param credential an Entra token credential, used with AZURE_STORAGE_ACCOUNT_URL.
 * @throws Error when neither a connection string nor an account URL with a credential is given.
 */
export function createBlobServiceClient(c: BlobClientConfig, credential?: TokenCredential): BlobServiceClient {
  if (c.AZURE_STORAGE_CONNECTION_STRING) return BlobServiceClient.fromConnectionString(c.AZURE_STORAGE_CONNECTION_STRING);
  if (c.AZURE_STORAGE_ACCOUNT_URL && credential) return new BlobServiceClient(c.AZURE_STORAGE_ACCOUNT_URL, credential);
  throw new Error('blob storage: set AZURE_STORAGE_CONNECTION_STRING (dev) or AZURE_STORAGE_ACCOUNT_URL with an identity');
}
