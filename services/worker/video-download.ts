/**
 * Streams an uploaded video from the S3 temp bucket to a local file (never the whole object in memory):
 * `GetObject` Body → byte counter and SHA-256 (refuses more than the size limit, whatever `ContentLength` claims) → file
 * (`stream/promises.pipeline`, so an error on any side destroys both and the partial file is removed).
 * Also: deleting the temp object once the analysis has its outcome.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TerminalError, TransientError, errorMessage } from '../platform/errors.ts';
import { BadVideoError } from '../media/bad-video-error.ts';

/** What a download wrote. */
export interface DownloadResult {
  /** Bytes written. */
  bytes: number;
  /** Wall-clock time, ms. */
  durationMs: number;
  /** SHA-256 of the bytes, hex (computed while streaming; the key of content idempotency). */
  sha256: string;
}

function s3ErrorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}

/**
 * Downloads `s3://bucket/key` to `dest` (created exclusively, mode 0600).
 * @param maxBytes refuse objects larger than this, bytes (VIDEO_MAX_BYTES).
 * @throws TerminalError `video_not_found` when the object does not exist (NoSuchKey / 404).
 * @throws BadVideoError `too_large` when `ContentLength` or the bytes received exceed `maxBytes`,
 *   `empty_file` when the object has 0 bytes.
 * @throws TransientError `s3_unavailable` for other S3 failures, `download_incomplete` when fewer bytes arrived
 *   than `ContentLength`.
 * @throws `signal.reason` when aborted.
 */
export async function downloadVideo(s3: S3Client, bucket: string, key: string, dest: string, maxBytes: number, signal?: AbortSignal): Promise<DownloadResult> {
  const started = Date.now();
  let body: Readable;
  let expected: number | undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), signal ? { abortSignal: signal } : {});
    if (!res.Body) throw new TransientError('s3_unavailable', `S3 returned no body for ${key}`);
    body = res.Body as Readable;
    expected = res.ContentLength;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof TransientError) throw err;
    if (s3ErrorName(err) === 'NoSuchKey' || httpStatus(err) === 404) {
      throw new TerminalError('video_not_found', `uploaded video ${key} is not in the temp bucket (expired or already processed)`, undefined, { cause: err });
    }
    throw new TransientError('s3_unavailable', `S3 GetObject ${key} failed: ${errorMessage(err)}`, { cause: err });
  }
  if (expected !== undefined && expected > maxBytes) {
    body.destroy();
    throw new BadVideoError('too_large', `file is ${expected} bytes, over the limit of ${maxBytes} bytes`, { bytes: expected, maxBytes });
  }
  let bytes = 0;
  const hash = createHash('sha256');
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      hash.update(chunk);
      if (bytes > maxBytes) done(new BadVideoError('too_large', `file is over the limit of ${maxBytes} bytes`, { maxBytes }));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), signal ? { signal } : {});
  } catch (err) {
    await rm(dest, { force: true });
    if (signal?.aborted) throw signal.reason;
    if (err instanceof BadVideoError) throw err;
    throw new TransientError('s3_unavailable', `S3 download of ${key} failed after ${bytes} bytes: ${errorMessage(err)}`, { cause: err });
  }
  if (bytes === 0) throw new BadVideoError('empty_file', 'file is empty (0 bytes)');
  if (expected !== undefined && bytes !== expected) {
    throw new TransientError('download_incomplete', `S3 download of ${key} got ${bytes} of ${expected} bytes`);
  }
  return { bytes, durationMs: Date.now() - started, sha256: hash.digest('hex') };
}

/**
 * Deletes the temp object. Deleting a missing key succeeds in S3, so this is idempotent.
 * @throws TransientError `s3_unavailable` when S3 refuses.
 */
export async function deleteVideo(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    throw new TransientError('s3_unavailable', `S3 DeleteObject ${key} failed: ${errorMessage(err)}`, { cause: err });
  }
}
