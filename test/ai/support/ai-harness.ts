/**
 * Shared set-up of the AI coordinator tests: a real keyframe JPEG cut with ffmpeg from a `makeClip` clip, a
 * registry pointing at the AI emulator, and a pino logger whose output is captured for secret checks.
 *
 * Prices are the Azure AI Foundry pay-as-you-go figures of reference/azure-ai-inference.md §10 (mid-2025 table
 * mirroring LiteLLM `azure_ai/*`): Llama-3.2-11B-Vision-Instruct 0.37/0.37, DeepSeek-V3 1.14/4.56,
 * DeepSeek-R1 1.35/5.40 USD per 1M input/output tokens.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { makeClip } from '../../../devstack/samples.ts';
import { createLogger, type Logger } from '../../../services/platform/logger.ts';
import type { ModelDeployment } from '../../../services/ai/model-deployment.ts';
import { loadConfig, type Config } from '../../../services/platform/config.ts';

/** Emulator models matching {@link registry}. */
export const EMULATOR_MODELS = [
  { name: 'Llama-3.2-11B-Vision-Instruct', provider: 'Meta', vision: true },
  { name: 'DeepSeek-V3', provider: 'DeepSeek' },
  { name: 'DeepSeek-R1', provider: 'DeepSeek', reasoning: true },
];

/** Prices from reference/azure-ai-inference.md §10, USD per 1M tokens. */
export const PRICES = {
  vision: { input: 0.37, output: 0.37 },
  v3: { input: 1.14, output: 4.56 },
  r1: { input: 1.35, output: 5.4 },
} as const;

/** One deployment on the emulator. */
export function deployment(endpoint: string, name: 'vision' | 'v3' | 'r1', over: Partial<ModelDeployment> = {}): ModelDeployment {
  const base: Record<typeof name, ModelDeployment> = {
    vision: { name: 'vision', use: ['vision'], endpoint, model: 'Llama-3.2-11B-Vision-Instruct', maxOutputTokens: 2048, quota: { requestsPerMinute: 600, tokensPerMinute: 1_000_000 }, pricePer1MTokens: PRICES.vision },
    v3: { name: 'v3', use: ['text'], endpoint, model: 'DeepSeek-V3', quota: { requestsPerMinute: 600, tokensPerMinute: 1_000_000 }, pricePer1MTokens: PRICES.v3 },
    r1: { name: 'r1', use: ['text', 'reasoning'], endpoint, model: 'DeepSeek-R1', reasoning: true, quota: { requestsPerMinute: 600, tokensPerMinute: 1_000_000 }, pricePer1MTokens: PRICES.r1 },
  };
  return { ...base[name], ...over };
}

/**
 * Real keyframes: renders a 2 s clip with `makeClip`, cuts one frame per seek time with
 * `ffmpeg -ss <t> -i clip.mp4 -frames:v 1 x.jpg`, and returns the JPEG bytes in order (the temp dir is removed).
 * @param seeksSec seek times in seconds. @defaultValue [1]
 */
export async function makeKeyframeJpegs(seeksSec: number[] = [1]): Promise<Buffer[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ai-test-'));
  try {
    const clip = await makeClip(join(dir, 'clip.mp4'), { seconds: 2, audio: false });
    const frames: Buffer[] = [];
    for (const [i, t] of seeksSec.entries()) {
      const out = join(dir, `x${i}.jpg`);
      await new Promise<void>((resolve, reject) => {
        const p = spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', '-ss', String(t), '-i', clip, '-frames:v', '1', out], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (b: Buffer) => (err += b.toString()));
        p.on('error', reject);
        p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${err}`))));
      });
      frames.push(await readFile(out));
    }
    return frames;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A debug-level logger whose every line is kept in memory. */
export function capturedLogger(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger('ai-test', 'debug', sink), text: () => chunks.join('') };
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * A dev worker's runtime configuration, loaded and checked as `main.ts` does, with a key for the AI emulator
 * (`apiKey`), Redis at `redisUrl`, and `env` on top (variables as in schemas/runtime-config.schema.json).
 */
export function devWorkerConfig(redisUrl: string, apiKey: string, env: Record<string, string> = {}): Config {
  return loadConfig('worker', {
    REDIS_URL: redisUrl,
    S3_TEMP_BUCKET: 'tmp',
    DESIRED_STATE_FILE: 'd.yml',
    AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    AI_AUTH: 'key',
    AZURE_AI_API_KEY: apiKey,
    ...env,
  });
}
