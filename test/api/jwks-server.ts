/**
 * A JWKS endpoint for tests: serves `{ keys }` at `/jwks.json` on a free loopback port, like an identity provider's
 * `jwks_uri`, and counts fetches.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** A running JWKS endpoint. */
export interface JwksServer {
  url: string;
  /** How many times the keys were fetched. */
  fetches(): number;
  close(): Promise<void>;
}

/** Serves `keys` until closed. */
export async function serveJwks(keys: JWK[]): Promise<JwksServer> {
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
