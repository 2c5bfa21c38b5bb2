/**
 * controller/storage-clients.ts: the reconciler's Blob client authenticates with the credential every process builds
 * from AI_AUTH (services/platform/model-credentials.ts), not with DefaultAzureCredential, which finds nothing on
 * ECS Fargate. With AI_AUTH=aws-web-identity the client's credential gets its Entra token over HTTP from an STS
 * stand-in (GetWebIdentityToken, audience api://AzureADTokenExchange) and a fake Entra token endpoint, as in
 * test/ai/aws-web-identity.test.ts (https authority host rewritten to the local fake, instance discovery off:
 * reference/standin-pitfalls.md §4). Also: a connection string needs no identity, no Blob setting means no Blob
 * client, and a model key cannot authenticate Blob requests (a clear error naming the settings).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTokenCredential } from '@azure/core-auth';
import { createStorageClients } from '../../controller/storage-clients.ts';
import { loadConfig, type Config } from '../../services/platform/config.ts';
import { ValidationError } from '../../services/platform/errors.ts';
import { FAKE_AUTHORITY_HOST, startStsEntraFakes, type StsEntraFakes } from '../support/sts-entra-fakes.ts';

const TENANT = '00000000-0000-0000-0000-0000000000ee';
const CLIENT = '00000000-0000-0000-0000-0000000000ff';
const ACCOUNT_URL = 'https://contenttrendskeyframes.blob.core.windows.net';

let fakes: StsEntraFakes;

/** Settings the stand-ins need that are not configuration (production passes none). */
const standIns = () => ({
  sts: { credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' } },
  identity: { disableInstanceDiscovery: true, httpClient: fakes.httpClient },
});

/** A reconciler configuration (dev profile: the STS stand-in is plain http) with `extra` over the basics. */
function reconcilerConfig(extra: Record<string, string>): Config {
  return loadConfig('reconciler', { REDIS_URL: 'redis://127.0.0.1:6379', DESIRED_STATE_FILE: 'desired-state/dev.yml', AWS_REGION: 'eu-west-1', ...extra });
}

test.before(async () => {
  fakes = await startStsEntraFakes({ tenant: TENANT, roleArn: 'arn:aws:iam::123456789012:role/reconciler', tokenPrefix: 'entra-storage-token-' });
});

test.after(() => fakes.close());

test('AI_AUTH=aws-web-identity: the Blob client gets a storage token from Entra for an STS web identity JWT', async () => {
  const config = reconcilerConfig({
    AZURE_STORAGE_ACCOUNT_URL: ACCOUNT_URL,
    AI_AUTH: 'aws-web-identity',
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: CLIENT,
    AZURE_AUTHORITY_HOST: FAKE_AUTHORITY_HOST,
    STS_ENDPOINT: fakes.url,
  });
  const storage = await createStorageClients(config, standIns());
  try {
    assert.ok(storage.blob, 'a Blob client');
    assert.is(storage.blob.url.replace(/\/$/, ''), ACCOUNT_URL);
    const credential = storage.blob.credential;
    assert.ok(isTokenCredential(credential), 'an Entra token credential');
    const [sts0, entra0] = [fakes.stsCalls.length, fakes.entraCalls.length];
    const token = await credential.getToken('https://storage.azure.com/.default');
    assert.is(token?.token, `entra-storage-token-${entra0}`);
    assert.is(fakes.stsCalls.length - sts0, 1, 'one GetWebIdentityToken call');
    assert.is(fakes.stsCalls[sts0]!.get('Audience.member.1'), 'api://AzureADTokenExchange');
    const entra = fakes.entraCalls[entra0]!;
    assert.equal(
      [entra.get('client_id'), entra.get('client_assertion_type'), entra.get('client_assertion'), entra.get('scope')],
      [CLIENT, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', fakes.issuedJwts[fakes.issuedJwts.length - 1], 'https://storage.azure.com/.default'],
    );
  } finally {
    storage.destroy();
  }
});

test('a connection string (dev) needs no identity; without a Blob setting there is no Blob client', async () => {
  const sts0 = fakes.stsCalls.length;
  const withKey = await createStorageClients(
    reconcilerConfig({ AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;' }),
    standIns(),
  );
  assert.ok(withKey.blob, 'a Blob client from the connection string');
  assert.not.ok(isTokenCredential(withKey.blob.credential), 'Shared Key, not an Entra token');
  withKey.destroy();
  const none = await createStorageClients(reconcilerConfig({}), standIns());
  assert.is(none.blob, undefined, 'the keyframes container is not observed');
  none.destroy();
  assert.is(fakes.stsCalls.length, sts0, 'no STS call for either');
});

test('an account URL with AI_AUTH=key (a model key) is refused with the settings to change', async () => {
  const config = reconcilerConfig({ AZURE_STORAGE_ACCOUNT_URL: ACCOUNT_URL, AI_AUTH: 'key', AZURE_AI_API_KEY: 'model-key-S3CR3T' });
  let err: unknown;
  try {
    (await createStorageClients(config)).destroy();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ValidationError, String(err));
  const text = err.render();
  assert.match(text, /AZURE_STORAGE_ACCOUNT_URL/);
  assert.match(text, /AI_AUTH is "key"/);
  assert.match(text, /AZURE_STORAGE_CONNECTION_STRING/);
  assert.not.match(text, /S3CR3T/, 'the key is not in the message');
});

test.run();
