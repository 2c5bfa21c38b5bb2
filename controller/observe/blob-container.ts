/**
 * Observer of the keyframes Blob container (read only): existence, public access level (GetContainerAccessPolicy:
 * no `blobPublicAccess` means private) with the container's stored access policies (kept when public access is
 * turned off), and the account's blob soft-delete retention (GetBlobServiceProperties `deleteRetentionPolicy`),
 * read whether the container exists or not. The Azure SDK retries transient failures itself (its default
 * pipeline). Retention of keyframes (`retentionDays`) is an Azure Resource Manager lifecycle-management policy,
 * which the Blob data plane cannot read; the report says so rather than guessing.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import type { ObservedContainer } from '../types.ts';

/**
 * Observes one container.
 * @throws Error (from the Azure SDK) when a read fails.
 */
export async function observeBlobContainer(name: string, blob: BlobServiceClient): Promise<ObservedContainer> {
  const container = blob.getContainerClient(name);
  const [exists, props] = await Promise.all([container.exists(), blob.getProperties()]);
  const retention = props.deleteRetentionPolicy;
  const softDeleteDays = retention?.enabled === true ? (retention.days ?? null) : null;
  if (!exists) return { name, exists: false, softDeleteDays };
  const policy = await container.getAccessPolicy();
  return { name, exists: true, publicAccess: policy.blobPublicAccess ?? 'none', signedIdentifiers: policy.signedIdentifiers, softDeleteDays };
}
