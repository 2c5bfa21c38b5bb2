import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchEndToEnd } from './pipeline.ts';
process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
const d = await mkdtemp(join(tmpdir(), 'ct-bench-e2e-'));
try { await benchEndToEnd(d); } finally { await rm(d, { recursive: true, force: true }); }
