/**
 * Azure Blob stand-in: Azurite's blob service as a child process on a free loopback port, in memory.
 * Launched with `process.execPath` on the resolved `azurite-blob` entry so we hold the real PID; flags from
 * reference/standin-pitfalls.md §2 (`--skipApiVersionCheck` because @azure/storage-blob is ahead of Azurite,
 * `--disableTelemetry`, the port is read from its start-up line).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = ['Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq', 'K1SZFPTOtr/KBHBeksoGMGw=='].join('/');

/** A running Blob stand-in. */
export interface BlobStandIn {
  /** Blob service URL, e.g. `http://127.0.0.1:PORT/devstoreaccount1`. */
  url: string;
  /** Full connection string (the short `UseDevelopmentStorage=true` form ignores the port). */
  connectionString: string;
  pid: number;
  close(): Promise<void>;
}

/** Starts Azurite blob; resolves once it prints the address it listens on (timeout 20 s). */
export async function startAzurite(): Promise<BlobStandIn> {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('azurite/package.json'));
  const main = join(pkgDir, 'dist', 'src', 'blob', 'main.js');
  const child = spawn(
    process.execPath,
    [main, '--silent', '--inMemoryPersistence', '--blobHost', '127.0.0.1', '--blobPort', '0', '--disableTelemetry', '--skipApiVersionCheck', '--loose'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`azurite did not start in 20 s: ${out.slice(-500)}`)), 20_000);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`azurite exited with code ${code}: ${out.slice(-500)}`));
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  const url = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    url,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${url};`,
    pid: child.pid ?? 0,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
