/**
 * Prepares the Blob stand-in the way the platform team's infrastructure prepares the real storage account
 * (outside Copilot): the keyframes container exists with no public access, and blob soft delete is on with the
 * desired retention. The reconciler then keeps these settings (it would also create the container and set them,
 * in enforce mode); the worker needs the container from its first analysis.
 */
import { BlobServiceClient } from '@azure/storage-blob';

/** What to prepare: `spec.storage.keyframes` of the desired state. */
export interface StorageSeed {
  connectionString: string;
  container: string;
  softDeleteDays: number;
}

/** Creates the container (private) and enables soft delete. @returns one line per change, for printing. */
export async function seedStorage(o: StorageSeed): Promise<string[]> {
  const service = BlobServiceClient.fromConnectionString(o.connectionString);
  await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: o.softDeleteDays } });
  const created = await service.getContainerClient(o.container).createIfNotExists();
  return [
    `blob soft delete on, ${o.softDeleteDays} days`,
    `blob container ${o.container} ${created.succeeded ? 'created' : 'exists'} (private)`,
  ];
}
