/**
 * The one error a bad upload produces: a {@link TerminalError} (never retried) whose `code` says what is wrong
 * with the file. The API shows `code` and `message` to the caller, so messages name the limit and the value found.
 */
import { TerminalError } from '../platform/errors.ts';

/** Every way an uploaded file can be refused. */
export type BadVideoCode =
  /** Not a media file ffprobe recognises (text, random bytes). */
  | 'not_a_video'
  /** A media container without any video stream (audio-only, or cover art only). */
  | 'no_video_stream'
  /** The video codec is not in the allow list (h264, hevc, vp8, vp9, av1). */
  | 'unsupported_codec'
  /** The container is not MP4/MOV or Matroska/WebM (including playlists such as HLS renamed `.mp4`). */
  | 'unsupported_container'
  /** Longer than the duration limit. */
  | 'too_long'
  /** More bytes than the size limit. */
  | 'too_large'
  /** Larger frame than the resolution limit. */
  | 'resolution_too_high'
  /** Zero bytes. */
  | 'empty_file'
  /** Recognised but broken: truncated, undecodable, no duration or no dimensions. */
  | 'corrupt_video';

/** A refused upload. `details` carries the facts behind the decision (limit and value), safe to show. */
export class BadVideoError extends TerminalError {
  declare readonly code: BadVideoCode;
  constructor(code: BadVideoCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/** True for a {@link BadVideoError}. */
export function isBadVideoError(err: unknown): err is BadVideoError {
  return err instanceof BadVideoError;
}
