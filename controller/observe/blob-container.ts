/**
 * Observer of the keyframes Blob container (read only): existence, public access level (GetContainerAccessPolicy:
 * no `blobPublicAccess` means private) and the account's blob soft-delete retention (GetBlobServiceProperties
 * `deleteRetentionPolicy`). The Azure SDK retries transient failures itself (its default pipeline).
 * Retention of keyframes (`retentionDays`) is an Azure Resource Manager lifecycle-management policy, which the
 * Blob data plane cannot read; the report says so rather than guessing.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import type { ObservedContainer } from '../types.ts';

/**
 * Observes one container.
 * @throws Error (from the Azure SDK) when a read fails.
 */
export async function observeBlobContainer(name: string, blob: BlobServiceClient): Promise<ObservedContainer> {
  const container = blob.getContainerClient(name);
  if (!(await container.exists())) return { name, exists: false };
  const policy = await container.getAccessPolicy();
  const props = await blob.getProperties();
  const retention = props.deleteRetentionPolicy;
  return {
    name,
    exists: true,
    publicAccess: policy.blobPublicAccess ?? 'none',
    softDeleteDays: retention?.enabled === true ? (retention.days ?? null) : null,
  };
}
