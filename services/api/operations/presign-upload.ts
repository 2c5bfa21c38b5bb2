/**
 * Upload tickets: a presigned S3 PUT URL for one video, so the bytes go from the client straight to the temp bucket
 * and never through the API.
 *
 * The URL is bound to the key, the Content-Type and the exact Content-Length: both headers are in
 * `X-Amz-SignedHeaders`, so S3 refuses a PUT with another type or size (AWS docs, "Uploading objects with presigned
 * URLs"; SigV4 signs every header it lists). `@aws-sdk/s3-request-presigner` signs only `content-length` and `host`
 * by default, hence `signableHeaders`. The S3 client must compute checksums WHEN_REQUIRED, or the URL carries the
 * CRC32 of an empty body (standin-pitfalls.md §1); services/platform/aws.ts does that.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ValidationError } from '../../platform/errors.ts';
import type { Principal } from '../auth/principal.ts';

/** Content types a video upload may declare (the OpenAPI enum of CreateUploadRequest.contentType). */
export type VideoContentType = 'video/mp4' | 'video/webm' | 'video/quicktime';

/** Validated body of `POST /v1/uploads`. */
export interface UploadRequest {
  contentType: VideoContentType;
  /** Exact size of the video, bytes. */
  bytes: number;
}

/** What the client needs to upload. */
export interface UploadTicket {
  /** Presigned PUT URL. */
  uploadUrl: string;
  /** The object key to pass as `videoKey` to `POST /v1/analyses`: `uploads/<tenant>/<uuid>`. */
  videoKey: string;
  /** When the URL stops working, ISO 8601. */
  expiresAt: string;
  /** Headers the PUT must carry, exactly. */
  headers: { 'Content-Type': VideoContentType; 'Content-Length': string };
}

/** What {@link presignUpload} needs. */
export interface PresignUploadDeps {
  s3: S3Client;
  /** The temp bucket (S3_TEMP_BUCKET). */
  bucket: string;
  /** Largest video accepted, bytes (VIDEO_MAX_BYTES). */
  maxVideoBytes: number;
}

/** Lifetime of an upload URL, seconds: 15 minutes. */
export const UPLOAD_URL_TTL_SEC = 15 * 60;

/** Key prefix of every upload of `tenantId`; analyses accept only keys under it. */
export function uploadPrefix(tenantId: string): string {
  return `uploads/${tenantId}/`;
}

/**
 * Issues an upload ticket for the caller's tenant.
 * @throws ValidationError (`body.bytes`) when the size is over `maxVideoBytes`.
 */
export async function presignUpload(deps: PresignUploadDeps, caller: Principal, req: UploadRequest): Promise<UploadTicket> {
  if (req.bytes > deps.maxVideoBytes) {
    throw new ValidationError('the video is too large', [{ where: 'body.bytes', message: `must be <= ${deps.maxVideoBytes}` }]);
  }
  const videoKey = `${uploadPrefix(caller.tenantId)}${randomUUID()}`;
  const expiresAt = new Date(Date.now() + UPLOAD_URL_TTL_SEC * 1000).toISOString();
  const command = new PutObjectCommand({ Bucket: deps.bucket, Key: videoKey, ContentType: req.contentType, ContentLength: req.bytes });
  const uploadUrl = await getSignedUrl(deps.s3, command, {
    expiresIn: UPLOAD_URL_TTL_SEC,
    signableHeaders: new Set(['content-type', 'content-length']),
  });
  return { uploadUrl, videoKey, expiresAt, headers: { 'Content-Type': req.contentType, 'Content-Length': String(req.bytes) } };
}
