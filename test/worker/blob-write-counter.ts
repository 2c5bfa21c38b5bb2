/**
 * A counting HTTP proxy in front of Azurite: every request is forwarded unchanged (the SDK's Shared Key signature
 * covers the path and headers, not the host port, so it stays valid), and each blob PUT is tallied per blob path
 * with its response status. Tests point the worker's connection string at the proxy and read how many times each
 * keyframe was written (201) or refused as already existing (409), and how many server-side copies (Copy Blob: a
 * PUT with `x-ms-copy-source`, answered 202) landed on each blob.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running counter. */
export interface BlobWriteCounter {
  /** Connection string equal to Azurite's but with the proxy as BlobEndpoint. */
  connectionString: string;
  /** Successful writes (PUT answered 201) per path `/<account>/<container>/<blob>`. */
  writes: Map<string, number>;
  /** PUTs refused with 409 (BlobAlreadyExists) per path. */
  conflicts: Map<string, number>;
  /** Copy Blob requests accepted (202) per destination path. */
  copies: Map<string, number>;
  close(): Promise<void>;
}

/**
 * @param blobUrl Azurite's blob service URL, `http://127.0.0.1:PORT/<account>`.
 * @param connectionString Azurite's connection string (its BlobEndpoint is replaced).
 */
export async function startBlobWriteCounter(blobUrl: string, connectionString: string): Promise<BlobWriteCounter> {
  const target = new URL(blobUrl);
  const writes = new Map<string, number>();
  const conflicts = new Map<string, number>();
  const copies = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers: { ...req.headers, host: target.host } },
      (up) => {
        const blobPath = decodeURIComponent(path.split('?')[0] ?? '');
        // Blob writes only: Put Blob has no `comp` query (block, metadata and container calls do).
        if (req.method === 'PUT' && !/[?&](comp|restype)=/.test(path)) {
          if (req.headers['x-ms-copy-source'] !== undefined) {
            if (up.statusCode === 202) bump(copies, blobPath);
          } else if (up.statusCode === 201) bump(writes, blobPath);
          else if (up.statusCode === 409) bump(conflicts, blobPath);
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxied = `http://127.0.0.1:${port}${target.pathname}`;
  return {
    connectionString: connectionString.replace(/BlobEndpoint=[^;]*/, `BlobEndpoint=${proxied}`),
    writes,
    conflicts,
    copies,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
