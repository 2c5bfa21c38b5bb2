/**
 * The S3 bucket-configuration stand-in: an HTTP server in front of s3rver that serves the bucket subresources
 * s3rver answers 501 NotImplemented to (reference/standin-pitfalls.md §1): `?lifecycle`, `?encryption`,
 * `?publicAccessBlock` and `?policy` (GET, PUT, DELETE on a path-style bucket URL), in S3's wire formats and
 * with S3's error codes, and forwards every other request to s3rver untouched (see `proxy.ts`). With
 * `presignCredentials`, a presigned URL is first checked as S3 checks it, signed header values included
 * (`presigned-url.ts`): s3rver does not.
 *
 * Authentication and bucket existence stay s3rver's: a configuration request is first sent to s3rver as is.
 * s3rver checks the credentials and that the bucket exists before it reaches its "not implemented" branch
 * (s3rver 3.7 `lib/routes.js`), so its 501 NotImplemented (405 MethodNotAllowed for GET `?policy`) means "caller
 * accepted, bucket exists" and the stand-in answers; any other answer (403 InvalidAccessKeyId, 404 NoSuchBucket…)
 * is passed back as it is. Unlike s3rver, anonymous configuration requests are refused (`AccessDenied`), as S3
 * allows them only to the bucket owner.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BodyTooLargeError, readBody, sleep } from '../http-body.ts';
import { createAwsFaults, type AwsFaults } from '../aws/faults.ts';
import { S3Error, errorXml } from './errors.ts';
import { Upstream, type BufferedAnswer } from './proxy.ts';
import { BucketConfigStore } from './store.ts';
import { lifecycleXml, parseLifecycle } from './lifecycle.ts';
import { encryptionXml, parseEncryption } from './encryption.ts';
import { parsePublicAccessBlock, publicAccessBlockXml } from './public-access-block.ts';
import { checkPolicy } from './policy.ts';
import { verifyChecksum } from './checksum.ts';
import { checkPresignedUrl, isPresignedV4, type PresignCredentials } from './presigned-url.ts';

/** Options of {@link startS3BucketConfig}. */
export interface S3BucketConfigOptions {
  /** s3rver's base URL, `http://127.0.0.1:PORT`. */
  upstream: string;
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** New buckets get S3's defaults (SSE-S3, Block Public Access on), see `store.ts`. @defaultValue true */
  newBucketDefaults?: boolean;
  /** Largest configuration body accepted, bytes (larger: 400 MaxMessageLengthExceeded). @defaultValue 1048576 */
  maxBodyBytes?: number;
  /**
   * The upstream's access key: presigned URLs signed with it are checked as S3 checks them, signed headers included
   * (presigned-url.ts), before they are forwarded. @defaultValue none: presigned URLs are forwarded unchecked
   */
  presignCredentials?: PresignCredentials;
}

/** A running stand-in. */
export interface S3BucketConfigStandIn {
  /** `http://127.0.0.1:PORT`: the S3 client's `endpoint` (path style). */
  endpoint: string;
  /** The s3rver it forwards to. */
  upstream: string;
  /** Configuration requests the stand-in answered itself for `operation` (e.g. `PutBucketPolicy`; all when absent). */
  callCount(operation?: string): number;
  /** Forgets the counts. */
  resetCalls(): void;
  /**
   * Faults on configuration operations (by operation name or `*`): `throttle` answers 503 SlowDown, `server-error`
   * 500 InternalError, `latency` delays the answer. Forwarded requests are never faulted.
   */
  faults: AwsFaults;
  /** Stops the server (not s3rver). */
  close(): Promise<void>;
}

type Subresource = 'lifecycle' | 'encryption' | 'publicAccessBlock' | 'policy';
const SUBRESOURCES: readonly Subresource[] = ['lifecycle', 'encryption', 'publicAccessBlock', 'policy'];

/** S3 operation names by subresource and method. */
const OPERATIONS: Readonly<Record<Subresource, Readonly<Record<'GET' | 'PUT' | 'DELETE', string>>>> = {
  lifecycle: { GET: 'GetBucketLifecycleConfiguration', PUT: 'PutBucketLifecycleConfiguration', DELETE: 'DeleteBucketLifecycle' },
  encryption: { GET: 'GetBucketEncryption', PUT: 'PutBucketEncryption', DELETE: 'DeleteBucketEncryption' },
  publicAccessBlock: { GET: 'GetPublicAccessBlock', PUT: 'PutPublicAccessBlock', DELETE: 'DeletePublicAccessBlock' },
  policy: { GET: 'GetBucketPolicy', PUT: 'PutBucketPolicy', DELETE: 'DeleteBucketPolicy' },
};

interface Route {
  bucket: string;
  subresource: Subresource;
  method: 'GET' | 'PUT' | 'DELETE';
}

/** The path segments and query of `req`; `undefined` for a target that is not a valid URL path (s3rver answers it). */
function target(req: IncomingMessage): { segments: string[]; url: URL } | undefined {
  try {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    return { segments: url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s)), url };
  } catch {
    return undefined;
  }
}

/** The configuration request `req` is, if it is one: `/<bucket>?<subresource>` and no other subresource. */
function route(req: IncomingMessage): Route | undefined {
  const t = target(req);
  if (!t || t.segments.length !== 1 || !['GET', 'PUT', 'DELETE'].includes(req.method ?? '')) return undefined;
  const keys = [...t.url.searchParams.keys()].filter((k) => !k.toLowerCase().startsWith('x-amz-'));
  if (keys.length !== 1) return undefined; // none of ours, or several subresources: s3rver answers
  const subresource = SUBRESOURCES.find((s) => s === keys[0]);
  return subresource ? { bucket: t.segments[0]!, subresource, method: req.method as Route['method'] } : undefined;
}

/** The bucket a plain bucket request (CreateBucket, DeleteBucket) names, if it is one. */
function plainBucket(req: IncomingMessage): string | undefined {
  const t = target(req);
  return t && t.segments.length === 1 && t.url.search === '' ? t.segments[0] : undefined;
}

function isSigned(req: IncomingMessage): boolean {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  return req.headers.authorization !== undefined || url.searchParams.has('X-Amz-Algorithm') || url.searchParams.has('Signature');
}

interface Answer {
  status: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * Starts the stand-in in front of `upstream`.
 * @throws Error when the port cannot be bound.
 */
export async function startS3BucketConfig(o: S3BucketConfigOptions): Promise<S3BucketConfigStandIn> {
  const upstream = new Upstream(new URL(o.upstream));
  const store = new BucketConfigStore(o.newBucketDefaults ?? true);
  const faults = createAwsFaults();
  const maxBodyBytes = o.maxBodyBytes ?? 1024 * 1024;
  const closing = new AbortController();
  const hostId = randomBytes(24).toString('base64');
  let counts = new Map<string, number>();

  function send(res: ServerResponse, a: Answer): void {
    if (res.destroyed) return;
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const body = a.body ?? '';
    res.writeHead(a.status, {
      ...a.headers,
      'x-amz-request-id': requestId,
      'x-amz-id-2': hostId,
      ...(body !== '' ? { 'content-type': a.contentType ?? 'application/xml', 'content-length': Buffer.byteLength(body) } : { 'content-length': 0 }),
    });
    res.end(body);
  }

  function fail(res: ServerResponse, e: S3Error): void {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const body = errorXml(e, requestId, hostId);
    if (res.destroyed) return;
    res.writeHead(e.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId, 'x-amz-id-2': hostId });
    res.end(body);
  }

  function relay(res: ServerResponse, a: BufferedAnswer): void {
    res.writeHead(a.status, a.headers);
    res.end(a.body);
  }

  function operate(r: Route, req: IncomingMessage, body: Buffer): Answer {
    const c = store.get(r.bucket);
    const name = { BucketName: r.bucket };
    if (r.method === 'PUT') verifyChecksum(req.headers, body);
    switch (r.subresource) {
      case 'lifecycle':
        if (r.method === 'GET') {
          if (!c.lifecycle) throw new S3Error('NoSuchLifecycleConfiguration', 404, 'The lifecycle configuration does not exist', name);
          return { status: 200, body: lifecycleXml(c.lifecycle), headers: { 'x-amz-transition-default-minimum-object-size': c.lifecycle.minimumObjectSize } };
        }
        if (r.method === 'PUT') {
          const size = req.headers['x-amz-transition-default-minimum-object-size'];
          c.lifecycle = parseLifecycle(body, Array.isArray(size) ? size[0] : size);
          return { status: 200, headers: { 'x-amz-transition-default-minimum-object-size': c.lifecycle.minimumObjectSize } };
        }
        c.lifecycle = null;
        return { status: 204 };
      case 'encryption':
        if (r.method === 'GET') {
          if (!c.encryption) throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', 404, 'The server side encryption configuration was not found', name);
          return { status: 200, body: encryptionXml(c.encryption) };
        }
        c.encryption = r.method === 'PUT' ? parseEncryption(body) : store.defaultEncryption();
        return { status: r.method === 'PUT' ? 200 : 204 };
      case 'publicAccessBlock':
        if (r.method === 'GET') {
          if (!c.publicAccessBlock) throw new S3Error('NoSuchPublicAccessBlockConfiguration', 404, 'The public access block configuration was not found', name);
          return { status: 200, body: publicAccessBlockXml(c.publicAccessBlock) };
        }
        c.publicAccessBlock = r.method === 'PUT' ? parsePublicAccessBlock(body) : null;
        return { status: r.method === 'PUT' ? 200 : 204 };
      case 'policy':
        if (r.method === 'GET') {
          if (c.policy === null) throw new S3Error('NoSuchBucketPolicy', 404, 'The bucket policy does not exist', name);
          return { status: 200, body: c.policy, contentType: 'application/json' };
        }
        c.policy = r.method === 'PUT' ? checkPolicy(body, r.bucket, c.publicAccessBlock?.BlockPublicPolicy === true) : null;
        return { status: 204 };
    }
  }

  async function handleConfig(r: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, maxBodyBytes);
    const gate = await upstream.send(req, body);
    if (gate.status !== 501 && gate.status !== 405) return relay(res, gate); // s3rver's own answer (denied, no bucket…)
    if (!isSigned(req)) throw new S3Error('AccessDenied', 403, 'Access Denied');
    const operation = OPERATIONS[r.subresource][r.method];
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const decision = faults.decide(operation);
    await sleep(decision.delayMs, closing.signal);
    if (decision.error === 'throttle') throw new S3Error('SlowDown', 503, 'Please reduce your request rate.');
    if (decision.error === 'server-error') throw new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
    send(res, operate(r, req, body));
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const bucket = plainBucket(req);
    upstream.stream(req, res, (status) => {
      // A bucket deleted or created through the stand-in starts over with the new-bucket defaults.
      if (bucket !== undefined && ((req.method === 'DELETE' && status === 204) || (req.method === 'PUT' && status === 200))) store.forget(bucket);
    });
  }

  const server = createServer((req, res) => {
    const r = route(req);
    if (!r && o.presignCredentials && isPresignedV4(req)) {
      checkPresignedUrl(req, o.presignCredentials).then(
        () => forward(req, res),
        (err: unknown) => {
          req.resume(); // the body is not wanted: read it off so the answer reaches the client
          fail(res, err instanceof S3Error ? err : new S3Error('InternalError', 500, `stand-in: ${err instanceof Error ? err.message : String(err)}`));
        },
      );
      return;
    }
    if (!r) return forward(req, res);
    handleConfig(r, req, res).catch((err: unknown) => {
      if (err instanceof S3Error) return fail(res, err);
      if (err instanceof BodyTooLargeError) return fail(res, new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.'));
      fail(res, new S3Error('InternalError', 500, `stand-in: ${err instanceof Error ? err.message : String(err)}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${o.host ?? '127.0.0.1'}:${port}`,
    upstream: o.upstream,
    callCount: (operation) => (operation === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(operation) ?? 0)),
    resetCalls: () => {
      counts = new Map();
    },
    faults,
    close: async () => {
      closing.abort();
      upstream.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
