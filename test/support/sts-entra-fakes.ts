/**
 * Local stand-ins for the two token endpoints of AI_AUTH=aws-web-identity, on one loopback port:
 * - AWS STS `GetWebIdentityToken` (POST / with a form body, Query protocol, XML answer): issues an unsigned JWT
 *   for the role, valid `DurationSeconds`;
 * - Microsoft Entra (`/<tenant>/v2.0/.well-known/openid-configuration` and `/<tenant>/oauth2/v2.0/token`): accepts a
 *   client assertion only if STS issued it (else AADSTS700211, as Entra answers an unknown federated credential).
 * @azure/identity insists on an https authority host: use `https://login.fake.test` and pass {@link
 * StsEntraFakes.httpClient}, which rewrites it to the fake (reference/standin-pitfalls.md §4), with instance
 * discovery off.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';

/** The authority host to configure (AZURE_AUTHORITY_HOST); {@link StsEntraFakes.httpClient} sends it to the fake. */
export const FAKE_AUTHORITY_HOST = 'https://login.fake.test';

/** Options of {@link startStsEntraFakes}. */
export interface StsEntraFakeOptions {
  /** The Entra tenant id the token endpoint answers for. */
  tenant: string;
  /** `sub` of the issued JWTs (the task role ARN). */
  roleArn: string;
  /** Entra access tokens are `<tokenPrefix><n>`, n counting from 0. */
  tokenPrefix: string;
  /** More claims for every issued JWT (e.g. a marker that a log must never show). */
  extraClaims?: Record<string, unknown>;
}

/** The running fakes and what they saw. */
export interface StsEntraFakes {
  /** `http://127.0.0.1:<port>`: the STS endpoint (STS_ENDPOINT). */
  url: string;
  /** HTTP client for @azure/identity that sends {@link FAKE_AUTHORITY_HOST} requests to the fake. */
  httpClient: HttpClient;
  /** Form bodies of the STS calls, and their Authorization headers. */
  stsCalls: URLSearchParams[];
  stsAuth: string[];
  /** JWTs STS issued, in order. */
  issuedJwts: string[];
  /** Form bodies of the Entra token calls, and the access tokens issued. */
  entraCalls: URLSearchParams[];
  entraTokens: string[];
  /** Lifetime Entra gives its next tokens, seconds (a test may change it). */
  entraExpiresInSec: number;
  close(): Promise<void>;
}

/** A JWT with the given claims and a dummy signature (the fakes and Entra's stand-in never verify signatures). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT', kid: 'stand-in' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

/** Starts the STS and Entra fakes on a free loopback port. */
export async function startStsEntraFakes(o: StsEntraFakeOptions): Promise<StsEntraFakes> {
  const state = { stsCalls: [] as URLSearchParams[], stsAuth: [] as string[], issuedJwts: [] as string[], entraCalls: [] as URLSearchParams[], entraTokens: [] as string[] };
  let fakes: StsEntraFakes | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/' && req.method === 'POST') {
        const form = new URLSearchParams(raw);
        state.stsCalls.push(form);
        state.stsAuth.push(String(req.headers.authorization ?? ''));
        if (form.get('Action') !== 'GetWebIdentityToken' || form.get('Version') !== '2011-06-15') {
          res.writeHead(400, { 'content-type': 'text/xml' });
          return res.end('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unsupported</Message></Error></ErrorResponse>');
        }
        const exp = Math.floor(Date.now() / 1000) + Number(form.get('DurationSeconds') ?? 300);
        const jwt = unsignedJwt({ iss: 'https://abc.tokens.sts.global.api.aws', sub: o.roleArn, aud: form.get('Audience.member.1'), exp, n: state.issuedJwts.length, ...o.extraClaims });
        state.issuedJwts.push(jwt);
        res.writeHead(200, { 'content-type': 'text/xml' });
        return res.end(
          `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityToken>${jwt}</WebIdentityToken><Expiration>${new Date(exp * 1000).toISOString()}</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>r-${state.issuedJwts.length}</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`,
        );
      }
      if (url.pathname === `/${o.tenant}/v2.0/.well-known/openid-configuration`) {
        const base = `${FAKE_AUTHORITY_HOST}/${o.tenant}`;
        return json(200, { token_endpoint: `${base}/oauth2/v2.0/token`, authorization_endpoint: `${base}/oauth2/v2.0/authorize`, end_session_endpoint: `${base}/oauth2/v2.0/logout`, issuer: `${base}/v2.0`, jwks_uri: `${base}/discovery/v2.0/keys` });
      }
      if (url.pathname === `/${o.tenant}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(raw);
        state.entraCalls.push(form);
        if (!state.issuedJwts.includes(form.get('client_assertion') ?? '')) return json(400, { error: 'invalid_client', error_description: 'AADSTS700211: No matching federated identity record found' });
        const token = `${o.tokenPrefix}${state.entraTokens.length}`;
        state.entraTokens.push(token);
        const expiresIn = fakes?.entraExpiresInSec ?? 3600;
        return json(200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token });
      }
      json(404, { error: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const inner = createDefaultHttpClient();
  fakes = {
    url,
    ...state,
    entraExpiresInSec: 3600,
    httpClient: {
      sendRequest(req) {
        req.url = req.url.replace(FAKE_AUTHORITY_HOST, url);
        req.allowInsecureConnection = true;
        return inner.sendRequest(req);
      },
    },
    close: async () => {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
    },
  };
  return fakes;
}
