/**
 * Integrity headers of the bucket-configuration PUTs. S3 requires one on each of them (their models carry
 * `httpChecksum.requestChecksumRequired`; without one S3 answers `InvalidRequest: Missing required header for
 * this request: Content-MD5`), and checks it against the body: a malformed `Content-MD5` is `InvalidDigest`, a
 * mismatch `BadDigest`. The v3 SDK sends `x-amz-checksum-crc32` by default. CRC32, SHA-1, SHA-256 and MD5 are
 * verified; a CRC32C or CRC64NVME header is accepted unverified (Node has no built-in for them).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { S3Error, invalidRequest } from './errors.ts';

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function crc32Base64(body: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body) >>> 0);
  return b.toString('base64');
}

const VERIFIED: Readonly<Record<string, { label: string; digest: (body: Buffer) => string }>> = {
  'x-amz-checksum-crc32': { label: 'CRC32', digest: crc32Base64 },
  'x-amz-checksum-sha1': { label: 'SHA1', digest: (b) => createHash('sha1').update(b).digest('base64') },
  'x-amz-checksum-sha256': { label: 'SHA256', digest: (b) => createHash('sha256').update(b).digest('base64') },
};
const UNVERIFIED = ['x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme'];

/**
 * Checks the integrity header(s) of a configuration PUT.
 * @throws S3Error `InvalidRequest` (none sent), `InvalidDigest` (Content-MD5 not a base64 MD5) or `BadDigest` (mismatch).
 */
export function verifyChecksum(headers: IncomingHttpHeaders, body: Buffer): void {
  let seen = false;
  const md5 = header(headers, 'content-md5');
  if (md5 !== undefined) {
    seen = true;
    if (Buffer.from(md5, 'base64').length !== 16) throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified is not valid.');
    if (createHash('md5').update(body).digest('base64') !== md5) throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what was received.');
  }
  for (const [name, { label, digest }] of Object.entries(VERIFIED)) {
    const sent = header(headers, name);
    if (sent === undefined) continue;
    seen = true;
    if (digest(body) !== sent) throw new S3Error('BadDigest', 400, `The ${label} you specified did not match the calculated checksum.`);
  }
  if (UNVERIFIED.some((n) => header(headers, n) !== undefined)) seen = true;
  if (!seen) throw invalidRequest('Missing required header for this request: Content-MD5');
}
