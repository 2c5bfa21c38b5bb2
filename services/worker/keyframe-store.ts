/**
 * Keyframes in Azure Blob Storage: `<analysisId>/keyframe-<n>-<ms>.jpg` in the keyframes container, content type
 * `image/jpeg`, the MD5 of the bytes stored as the blob's Content-MD5 and checked against the MD5 the service
 * computed on receipt. Names are deterministic (index and time in ms), and each upload is conditional
 * (`If-None-Match: *`, Azure Blob "Specifying conditional headers"): a retried or re-delivered job (e.g. after its
 * worker was SIGKILLed mid-upload) finds the blob already there with the same MD5 and keeps it, so a keyframe is
 * written once. A blob that exists with other bytes (a different encode) is overwritten under `If-Match` its ETag.
 *
 * An analysis that reuses another's result (same content and options) gets its own copies of that one's keyframes
 * under its own prefix ({@link copyKeyframes}), so each analysis owns exactly the blobs under `<analysisId>/` and
 * erasing one (services/api/operations/erase-analysis.ts) never breaks another. Copies are server-side Copy Blob
 * requests (`beginCopyFromURL`): within one storage account the request's own credentials (Shared Key or Entra ID)
 * authorize reading the source, no SAS needed (Azure REST "Copy Blob"; Azurite 3.35 completes them at once), and
 * content type, MD5 and cache control come with the bytes. They are conditional too (`If-None-Match: *`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ContainerClient } from '@azure/storage-blob';
import type { KeyframeInfo } from '../analyses/types.ts';
import { TransientError, errorMessage } from '../platform/errors.ts';
import { mapBounded } from './bounded-map.ts';

/** A frame to upload (what keyframe extraction produced). */
export interface FrameFile {
  index: number;
  timestampSec: number;
  path: string;
}

/** An uploaded keyframe. */
export interface UploadedFrame {
  index: number;
  blobName: string;
  /** Bytes uploaded. */
  bytes: number;
  /** Base64 MD5 of the bytes. */
  md5: string;
  /** False when an identical blob was already there (an earlier attempt wrote it) and was kept. */
  written: boolean;
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Blob name of keyframe `index` at `timestampSec` of analysis `analysisId`. */
export function keyframeBlobName(analysisId: string, index: number, timestampSec: number): string {
  return `${analysisId}/keyframe-${index}-${Math.round(timestampSec * 1000)}.jpg`;
}

/**
 * Uploads the frames, at most `concurrency` at a time.
 * @throws TransientError `blob_unavailable` when an upload fails, `blob_md5_mismatch` when the service's MD5
 *   differs from ours; `signal.reason` when aborted.
 */
export async function uploadKeyframes(
  container: ContainerClient,
  analysisId: string,
  frames: readonly FrameFile[],
  o: { concurrency: number; signal?: AbortSignal },
): Promise<UploadedFrame[]> {
  return mapBounded(
    frames,
    o.concurrency,
    async (f) => {
      const data = await readFile(f.path);
      const md5 = createHash('md5').update(data).digest();
      const blobName = keyframeBlobName(analysisId, f.index, f.timestampSec);
      const blob = container.getBlockBlobClient(blobName);
      const abort = o.signal ? { abortSignal: o.signal } : {};
      const put = async (conditions: { ifNoneMatch: string } | { ifMatch: string }): Promise<void> => {
        const res = await blob.upload(data, data.length, {
          blobHTTPHeaders: { blobContentType: 'image/jpeg', blobContentMD5: md5, blobCacheControl: 'private, max-age=86400' },
          metadata: { analysisid: analysisId, timestampms: String(Math.round(f.timestampSec * 1000)) },
          conditions,
          ...abort,
        });
        if (res.contentMD5 && !Buffer.from(res.contentMD5).equals(md5)) {
          throw new TransientError('blob_md5_mismatch', `keyframe ${blobName}: the service stored MD5 ${Buffer.from(res.contentMD5).toString('base64')}, expected ${md5.toString('base64')}`);
        }
      };
      let written = true;
      try {
        try {
          await put({ ifNoneMatch: '*' });
        } catch (err) {
          if (statusOf(err) !== 409) throw err;
          // BlobAlreadyExists: an earlier attempt of this analysis wrote it.
          const props = await blob.getProperties(abort);
          if (props.contentMD5 && Buffer.from(props.contentMD5).equals(md5)) written = false;
          else await put({ ifMatch: props.etag ?? '*' });
        }
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        if (err instanceof TransientError) throw err;
        throw new TransientError('blob_unavailable', `upload of keyframe ${blobName} failed: ${errorMessage(err)}`, { cause: err });
      }
      return { index: f.index, blobName, bytes: data.length, md5: md5.toString('base64'), written };
    },
    o.signal,
  );
}

/** A keyframe to copy is gone (its analysis was erased or expired meanwhile): the copy cannot be made. */
export class SourceKeyframeMissingError extends Error {
  readonly blobName: string;
  constructor(blobName: string) {
    super(`keyframe ${blobName} to copy no longer exists`);
    this.name = 'SourceKeyframeMissingError';
    this.blobName = blobName;
  }
}

/** Poll interval of a pending copy, ms (the SDK's default is 15 s; same-account copies rarely pend at all). */
const COPY_POLL_MS = 250;

/**
 * Copies keyframes of another analysis to `<analysisId>/keyframe-<n>-<ms>.jpg`, at most `concurrency` at a time,
 * server-side. A destination that already exists with the source's MD5 (an earlier attempt copied it) is kept.
 * @returns the keyframes with their new blob names, in the given order.
 * @throws SourceKeyframeMissingError when a source blob no longer exists.
 * @throws TransientError `blob_unavailable` when a copy fails otherwise; `signal.reason` when aborted.
 */
export async function copyKeyframes(
  container: ContainerClient,
  analysisId: string,
  keyframes: readonly KeyframeInfo[],
  o: { concurrency: number; signal?: AbortSignal },
): Promise<KeyframeInfo[]> {
  return mapBounded(
    keyframes,
    o.concurrency,
    async (k) => {
      const blobName = keyframeBlobName(analysisId, k.index, k.timestampSec);
      const source = container.getBlockBlobClient(k.blobName);
      const target = container.getBlockBlobClient(blobName);
      const abort = o.signal ? { abortSignal: o.signal } : {};
      const copy = async (conditions: { ifNoneMatch: string } | { ifMatch: string }): Promise<void> => {
        const poller = await target.beginCopyFromURL(source.url, {
          conditions,
          metadata: { analysisid: analysisId, timestampms: String(Math.round(k.timestampSec * 1000)) },
          intervalInMs: COPY_POLL_MS,
          ...abort,
        });
        const done = await poller.pollUntilDone();
        if (done.copyStatus !== 'success') throw new Error(`copy ended ${done.copyStatus ?? 'without a status'}`);
      };
      try {
        try {
          await copy({ ifNoneMatch: '*' });
        } catch (err) {
          if (statusOf(err) !== 409) throw err;
          // BlobAlreadyExists: an earlier attempt of this analysis copied it, or wrote other bytes under the name.
          const [have, want] = await Promise.all([target.getProperties(abort), source.getProperties(abort)]);
          const same = have.contentMD5 && want.contentMD5 && Buffer.from(have.contentMD5).equals(Buffer.from(want.contentMD5));
          if (!same) await copy({ ifMatch: have.etag ?? '*' });
        }
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        if (statusOf(err) === 404 && !(await source.exists(abort).catch(() => true))) throw new SourceKeyframeMissingError(k.blobName);
        throw new TransientError('blob_unavailable', `copy of keyframe ${k.blobName} to ${blobName} failed: ${errorMessage(err)}`, { cause: err });
      }
      return { ...k, blobName };
    },
    o.signal,
  );
}

/**
 * Deletes every blob under `<analysisId>/` (a failed analysis keeps no keyframes). Best effort per blob.
 * @returns the number deleted.
 */
export async function deleteKeyframes(container: ContainerClient, analysisId: string): Promise<number> {
  let deleted = 0;
  for await (const item of container.listBlobsFlat({ prefix: `${analysisId}/` })) {
    const r = await container.deleteBlob(item.name, { deleteSnapshots: 'include' }).then(() => true, () => false);
    if (r) deleted++;
  }
  return deleted;
}
