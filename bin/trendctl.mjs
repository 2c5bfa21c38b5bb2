#!/usr/bin/env node
// trendctl: runs controller/cli/main.ts through tsx in a child Node process (so `--no-warnings` hides the AWS
// SDK's Node 20 support notice), forwarding arguments, standard streams, signals and the exit code.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../controller/cli/main.ts', import.meta.url));
const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', main, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
});
child.on('error', (err) => {
  process.stderr.write(`trendctl: cannot start: ${err.message}\n`);
  process.exitCode = 1;
});
