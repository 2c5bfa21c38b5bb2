/**
 * Bucket configurations the stand-in holds, per bucket, in memory. A bucket it has not seen (or that was
 * re-created) starts as S3 starts a new bucket: SSE-S3 default encryption and all four Block Public Access
 * settings on, no lifecycle, no policy; with `newBucketDefaults: false` it starts with nothing configured,
 * as buckets created before 2023 did (and as several S3-compatible stores still do).
 */
import { SSE_S3_DEFAULT, type EncryptionConfig } from './encryption.ts';
import type { LifecycleConfig } from './lifecycle.ts';
import { NEW_BUCKET_PUBLIC_ACCESS_BLOCK, type PublicAccessBlock } from './public-access-block.ts';

/** One bucket's configuration; `null` is "not configured" (S3's 404 answers). */
export interface BucketConfig {
  lifecycle: LifecycleConfig | null;
  encryption: EncryptionConfig | null;
  publicAccessBlock: PublicAccessBlock | null;
  /** Policy document as sent. */
  policy: string | null;
}

/** Configurations by bucket name. */
export class BucketConfigStore {
  private readonly buckets = new Map<string, BucketConfig>();

  /** @param newBucketDefaults whether a new bucket gets S3's post-2023 defaults (see the module comment). */
  constructor(private readonly newBucketDefaults: boolean) {}

  /** The configuration of `bucket` (created with the new-bucket defaults on first use). */
  get(bucket: string): BucketConfig {
    let c = this.buckets.get(bucket);
    if (!c) {
      c = { lifecycle: null, encryption: this.defaultEncryption(), publicAccessBlock: this.newBucketDefaults ? { ...NEW_BUCKET_PUBLIC_ACCESS_BLOCK } : null, policy: null };
      this.buckets.set(bucket, c);
    }
    return c;
  }

  /** What DeleteBucketEncryption leaves: SSE-S3 (S3 API reference, DeleteBucketEncryption), or nothing without the defaults. */
  defaultEncryption(): EncryptionConfig | null {
    return this.newBucketDefaults ? { rules: SSE_S3_DEFAULT.rules.map((r) => ({ ...r })) } : null;
  }

  /** Drops what is known of `bucket` (it was deleted or created again). */
  forget(bucket: string): void {
    this.buckets.delete(bucket);
  }
}
