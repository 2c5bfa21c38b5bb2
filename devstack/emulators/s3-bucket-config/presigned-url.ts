/**
 * The check S3 makes of a presigned URL (SigV4 query authentication) and s3rver does not: the signature must match
 * the request AS RECEIVED, including the values of every header the URL signed (`X-Amz-SignedHeaders`). s3rver 3.7
 * accepts a presigned PUT with another Content-Length or Content-Type than the one signed, so an upload ticket's
 * size and type limits (services/api/operations/presign-upload.ts) would not be enforced by the stand-in; S3 answers
 * such a request 403 `SignatureDoesNotMatch` (Amazon S3 API reference, "Authenticating Requests: Using Query
 * Parameters (AWS Signature Version 4)": the server recomputes the signature from the request it receives).
 *
 * The signature is recomputed with @smithy/signature-v4, the signer the AWS SDK itself presigns with, from the
 * method, the raw path, the query without `X-Amz-Signature`, and the signed headers' received values.
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Error } from './errors.ts';

/** An access key the stand-in can check signatures of (s3rver's fixed development key in devstack). */
export interface PresignCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

type Bytes = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: Bytes): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 / HMAC-SHA-256 over node:crypto, in the shape SignatureV4 takes (`new (secret?) => {update, digest}`). */
class NodeSha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: Bytes) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: Bytes): void {
    this.h.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {
    this.h = this.fresh();
  }
}

/** The query parameters SigV4 query authentication adds; everything else in the query is signed as it is. */
const AUTH_PARAMS = new Set(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']);

/** `20261129T172844Z` as a Date; undefined when malformed. */
function amzDate(v: string | null): Date | undefined {
  const m = v ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v) : null;
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
}

function signatureMismatch(): S3Error {
  return new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
}

/** Whether `req` carries a SigV4 presigned URL (cheap test before {@link checkPresignedUrl}). */
export function isPresignedV4(req: IncomingMessage): boolean {
  return (req.url ?? '').includes('X-Amz-Signature=');
}

/**
 * Checks the SigV4 query signature of `req` against the request as received.
 * Requests signed with another access key than `credentials`' are left to the upstream (s3rver refuses unknown keys
 * itself), as are requests with no or a malformed presigned query: this adds S3's check, it does not replace s3rver's.
 * @throws S3Error `SignatureDoesNotMatch` (403) when a signed header is missing or any signed part differs.
 */
export async function checkPresignedUrl(req: IncomingMessage, credentials: PresignCredentials): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const q = url.searchParams;
  const given = q.get('X-Amz-Signature');
  const [accessKeyId, , region, service] = (q.get('X-Amz-Credential') ?? '').split('/');
  const signingDate = amzDate(q.get('X-Amz-Date'));
  const expiresIn = Number(q.get('X-Amz-Expires'));
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !given || accessKeyId !== credentials.accessKeyId || !region || !service || !signingDate || !Number.isInteger(expiresIn)) return;

  const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';').filter((h) => h !== '');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = req.headers[name];
    if (v === undefined) throw signatureMismatch();
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of q) {
    if (AUTH_PARAMS.has(k)) continue;
    const had = query[k];
    query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  // S3 presigned URLs sign no payload: the canonical request ends in UNSIGNED-PAYLOAD (@aws-sdk/s3-request-presigner
  // sets this header for the signer, which neither signs nor hoists it).
  const payload = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const signer = new SignatureV4({ service, region, credentials, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const expected = await signer.presign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: url.hostname, path: url.pathname, query, headers: { ...headers, ...payload } },
    { signingDate, expiresIn, signableHeaders: new Set(signed), unsignableHeaders: new Set(Object.keys(payload)), unhoistableHeaders: new Set([...signed, ...Object.keys(payload)]) },
  );
  const want = expected.query?.['X-Amz-Signature'];
  const a = Buffer.from(typeof want === 'string' ? want : '', 'utf8');
  const b = Buffer.from(given, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw signatureMismatch();
}
