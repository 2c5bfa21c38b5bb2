/**
 * The Azure AI model inference emulator, driven only through `@azure-rest/ai-inference` (ModelClient with a key
 * credential, retries off): model info, text and image chat (on a real keyframe cut with ffmpeg), JSON Schema
 * output checked with ajv, auth, api versions and reasoning, quotas and fault injection, determinism, streaming.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ModelClient, { isUnexpected, type ModelClient as ModelClientType } from '@azure-rest/ai-inference';
import { AzureKeyCredential } from '@azure/core-auth';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import sharp from 'sharp';
import fc from 'fast-check';
import { startAiEmulator, type AiEmulator } from '../../devstack/emulators/azure-ai/index.ts';
import { makeClip, samplePath } from '../../devstack/samples.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const KEY = 'test-key';
const LLAMA = 'Llama-3.2-90B-Vision-Instruct';
const R1 = 'DeepSeek-R1';

let emu: AiEmulator;
let client: ModelClientType;
let dir: string;

type Completion = {
  choices: { finish_reason: string; message: { content: string | null; reasoning_content?: string; tool_calls?: { function: { name: string; arguments: string } }[] } }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  model: string;
};
type ErrorBody = { error: { code: string; message: string; detail?: { loc: string[]; value: unknown } } };

function modelClient(key = KEY, apiVersion = '2025-04-01', maxRetries = 0, endpoint?: string): ModelClientType {
  return ModelClient(endpoint ?? emu.endpoint, new AzureKeyCredential(key), { apiVersion, allowInsecureConnection: true, retryOptions: { maxRetries } });
}

async function chat(body: Record<string, unknown>, c = client): Promise<{ status: string; body: unknown; headers: Record<string, string> }> {
  const res = await c.path('/chat/completions').post({ body: body as never });
  return { status: res.status, body: res.body, headers: res.headers as Record<string, string> };
}

function completion(r: { status: string; body: unknown }): Completion {
  assert.is(r.status, '200', JSON.stringify(r.body));
  return r.body as Completion;
}

function ffprobeSize(file: string): { width: number; height: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x', file], { encoding: 'utf8' });
  const [w, h] = r.stdout.trim().split('x').map(Number);
  if (!w || !h) throw new Error(`ffprobe could not read ${file}: ${r.stderr}`);
  return { width: w, height: h };
}

/** First key frame of a real video (the shared sample when present, else a clip rendered by ffmpeg) as JPEG. */
async function keyframe(): Promise<{ jpeg: Buffer; width: number; height: number; source: string }> {
  const video = samplePath('flower.mp4') ?? (await makeClip(join(dir, 'clip.mp4'), { seconds: 3, audio: false }));
  const out = join(dir, 'key.jpg');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', '-skip_frame', 'nokey', '-i', video, '-frames:v', '1', '-q:v', '3', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  const size = ffprobeSize(out);
  return { jpeg: await readFile(out), ...size, source: video };
}

function imageMessage(text: string, url: string): Record<string, unknown> {
  return { role: 'user', content: [{ type: 'text', text }, { type: 'image_url', image_url: { url } }] };
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ct-ai-emulator-'));
  emu = await startAiEmulator({
    models: [
      { name: LLAMA, type: 'chat-completion', provider: 'Meta', vision: true },
      { name: R1, provider: 'DeepSeek', reasoning: true },
      { name: 'Tiny-Quota', provider: 'Emulator', requestsPerMinute: 2 },
    ],
    apiKeys: [KEY],
    bearerTokens: ['entra-token'],
  });
  client = modelClient();
});

test.after(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

test('GET /info answers model name, type and provider, per deployment with ?model, on both base URLs', async () => {
  const def = await client.path('/info').get();
  assert.is(def.status, '200');
  assert.equal(def.body, { model_name: LLAMA, model_type: 'chat-completion', model_provider_name: 'Meta' });
  const r1 = await client.path('/info').get({ queryParameters: { model: R1 } });
  assert.equal(r1.body, { model_name: R1, model_type: 'chat-completion', model_provider_name: 'DeepSeek' });
  const unknown = await client.path('/info').get({ queryParameters: { model: 'gpt-nope' } });
  assert.is(unknown.status, '404');
  assert.is((unknown.body as ErrorBody).error.code, 'unknown_model');
  const serverless = modelClient(KEY, '2025-04-01', 0, emu.baseUrl);
  const root = await serverless.path('/info').get();
  assert.is((root.body as { model_name: string }).model_name, LLAMA);
  assert.is(emu.calls.count({ route: 'info' }), 4);
});

test('text chat: a deterministic [emulator] answer derived from the prompt, with usage and rate-limit headers', async () => {
  const prompt = 'Which dance challenge trends are growing fastest among cooking videos this week?';
  const r = await chat({ model: LLAMA, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: prompt }], max_tokens: 200, temperature: 0.2 });
  const body = completion(r);
  const content = body.choices[0]!.message.content!;
  assert.ok(content.startsWith('[emulator]'), content);
  assert.match(content, /dance/);
  assert.match(content, /cooking/);
  assert.is(body.model, LLAMA);
  assert.is(body.choices[0]!.finish_reason, 'stop');
  assert.is(body.usage.prompt_tokens, Math.ceil(('You are terse.'.length + prompt.length) / 4));
  assert.is(body.usage.completion_tokens, Math.ceil(content.length / 4));
  assert.is(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  assert.is(r.headers['x-ratelimit-limit-requests'], '1000');
  assert.ok(Number(r.headers['x-ratelimit-remaining-requests']) < 1000);
  assert.ok(Number(r.headers['x-ratelimit-remaining-tokens']) <= 1_000_000 - body.usage.prompt_tokens - 200, 'max_tokens counts at admission');
  const last = emu.calls.lastBody('chat/completions') as { messages: unknown[] };
  assert.is(last.messages.length, 2, 'the call log keeps the request body');
});

test('image chat on a real keyframe reports its size and measurements; a solid colour is measured exactly', async () => {
  const kf = await keyframe();
  const url = `data:image/jpeg;base64,${kf.jpeg.toString('base64')}`;
  const body = completion(await chat({ model: LLAMA, messages: [imageMessage('Describe this keyframe for a trend report.', url)] }));
  const content = body.choices[0]!.message.content!;
  assert.ok(content.startsWith('[emulator]'));
  assert.match(content, new RegExp(`Image 1: ${kf.width}x${kf.height} px, mean brightness 0\\.\\d{3}`), `${kf.source}: ${content}`);
  assert.ok(body.usage.prompt_tokens >= 1610, 'each image costs a fixed number of prompt tokens');

  const json = completion(await chat({ model: LLAMA, response_format: { type: 'json_object' }, messages: [imageMessage('Describe it as JSON.', url)] }));
  const facts = (JSON.parse(json.choices[0]!.message.content!) as { images: { width: number; height: number; meanBrightness: number; meanRgb: number[] }[] }).images[0]!;
  assert.equal([facts.width, facts.height], [kf.width, kf.height]);
  assert.ok(facts.meanBrightness > 0 && facts.meanBrightness < 1);

  const red = await sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  const solid = completion(await chat({ model: LLAMA, response_format: { type: 'json_object' }, messages: [imageMessage('What colour?', `data:image/png;base64,${red.toString('base64')}`)] }));
  const s = (JSON.parse(solid.choices[0]!.message.content!) as { images: { width: number; height: number; meanBrightness: number; meanRgb: number[]; dominantChannel: string }[] }).images[0]!;
  assert.equal([s.width, s.height, s.meanRgb, s.meanBrightness, s.dominantChannel], [64, 32, [255, 0, 0], 0.213, 'red']);
});

test('response_format json_schema: every answer validates against the caller\'s schema (ajv)', async () => {
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: ['title', 'confidence', 'rank', 'category', 'hashtags', 'scenes', 'detectedAt', 'reviewer', 'version'],
    properties: {
      title: { type: 'string', minLength: 3, maxLength: 40 },
      summary: { type: 'string', maxLength: 120 },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      rank: { type: 'integer', exclusiveMinimum: 0, maximum: 10 },
      growth: { type: 'number', multipleOf: 0.5, minimum: -5, maximum: 5 },
      category: { enum: ['dance', 'cooking', 'pets', 'comedy'] },
      hashtags: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+$' }, minItems: 2, maxItems: 5, uniqueItems: true },
      scenes: { type: 'array', minItems: 1, items: { $ref: '#/definitions/scene' } },
      detectedAt: { type: 'string', format: 'date-time' },
      reviewer: { anyOf: [{ type: 'null' }, { type: 'string', format: 'email' }] },
      version: { const: 2 },
      flags: { type: 'object', properties: { explicit: { type: 'boolean' } }, required: ['explicit'] },
    },
    definitions: {
      scene: { type: 'object', required: ['index', 'caption'], properties: { index: { type: 'integer', minimum: 0 }, caption: { type: 'string' } }, additionalProperties: false },
    },
  };
  const ajv = new Ajv({ allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  const prompts = ['cooking trend with cats', 'dance challenge on a rooftop at night', 'Comedy sketches!!! about pets and pizza', 'a', 'Zeitlupe Wasserfall Blumen', '12345 67890'];
  for (const [i, text] of prompts.entries()) {
    const model = i % 2 ? R1 : LLAMA;
    const body = completion(await chat({ model, messages: [{ role: 'user', content: text }], response_format: { type: 'json_schema', json_schema: { name: 'trend', schema, strict: true } } }));
    const value: unknown = JSON.parse(body.choices[0]!.message.content!);
    assert.ok(validate(value), `${model} / ${JSON.stringify(text)}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`);
  }
  await fc.assert(
    fc.asyncProperty(fc.string({ minLength: 1, maxLength: 80 }), async (text) => {
      const body = completion(await chat({ model: LLAMA, messages: [{ role: 'user', content: text }], response_format: { type: 'json_schema', json_schema: { name: 'trend', schema } } }));
      const value: unknown = JSON.parse(body.choices[0]!.message.content!);
      assert.ok(validate(value), `${JSON.stringify(text)}: ${ajv.errorsText(validate.errors)}`);
    }),
    { numRuns: 40, seed: 20261129 },
  );
  const bad = await chat({ model: LLAMA, messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'bad name!', schema } } });
  assert.is(bad.status, '422');
  assert.equal((bad.body as ErrorBody).error.detail?.loc, ['body', 'response_format', 'json_schema', 'name']);
});

test('the same request twice gives the same answer; a different prompt a different one', async () => {
  const req = { model: R1, messages: [{ role: 'user', content: 'Name three rising audio trends.' }], response_format: { type: 'json_schema', json_schema: { name: 't', schema: { type: 'object', required: ['trends'], properties: { trends: { type: 'array', minItems: 3, maxItems: 3, items: { type: 'string' } }, score: { type: 'number' } } } } } };
  const a = completion(await chat(req));
  const b = completion(await chat(req));
  assert.equal(b.choices, a.choices);
  assert.equal(b.usage, a.usage);
  const c = completion(await chat({ ...req, messages: [{ role: 'user', content: 'Name three falling audio trends.' }] }));
  assert.not.equal(c.choices[0]!.message.content, a.choices[0]!.message.content);
});

test('reasoning model: reasoning_content on 2025-04-01, inline <think> on 2024-05-01-preview, counted in completion tokens', async () => {
  const messages = [{ role: 'user', content: 'Why do short cooking videos go viral?' }];
  const ga = completion(await chat({ model: R1, messages }));
  const m = ga.choices[0]!.message;
  assert.ok(m.reasoning_content && m.reasoning_content.startsWith('[emulator]'));
  assert.not.match(m.content!, /<think>/);
  assert.is(ga.usage.completion_tokens, Math.ceil(m.content!.length / 4) + Math.ceil(m.reasoning_content.length / 4));

  const preview = modelClient(KEY, '2024-05-01-preview');
  const old = completion(await chat({ model: R1, messages }, preview));
  const content = old.choices[0]!.message.content!;
  assert.is(old.choices[0]!.message.reasoning_content, undefined);
  assert.ok(content.startsWith(`<think>\n${m.reasoning_content}\n</think>\n\n`), content);
  assert.ok(content.endsWith(m.content!));
  assert.equal(emu.calls.records.slice(-2).map((r) => r.apiVersion), ['2025-04-01', '2024-05-01-preview']);

  const short = completion(await chat({ model: R1, messages, max_tokens: 10 }));
  assert.is(short.choices[0]!.finish_reason, 'length');
  assert.ok(short.usage.completion_tokens <= 10);

  const other = await modelClient(KEY, '2023-12-01').path('/chat/completions').post({ body: { model: R1, messages } });
  assert.is(other.status, '400');
  assert.match((other.body as ErrorBody).error.message, /api-version/);
});

test('auth: 401 without a valid key; a configured bearer token is accepted', async () => {
  const wrong = await modelClient('not-the-key').path('/chat/completions').post({ body: { model: LLAMA, messages: [{ role: 'user', content: 'hi' }] } });
  assert.is(wrong.status, '401');
  assert.ok(isUnexpected(wrong));
  assert.is((wrong.body as ErrorBody).error.code, '401');
  const info = await modelClient('not-the-key').path('/info').get();
  assert.is(info.status, '401');
  // A key credential also sends `Authorization: Bearer <key>`: this one passes on the bearer token alone.
  const bearer = await chat({ model: LLAMA, messages: [{ role: 'user', content: 'hi' }] }, modelClient('entra-token'));
  assert.is(bearer.status, '200');
});

test('throttle fault: 429 with retry-after-ms (nested body) or retry-after (flat body); the SDK honours retry-after-ms', async () => {
  const before = emu.calls.count({ status: 429 });
  emu.faults.throttle({ forMs: 60_000, retryAfterMs: 1234, header: 'retry-after-ms' });
  const r = await chat({ model: R1, messages: [{ role: 'user', content: 'x' }] });
  assert.is(r.status, '429');
  assert.is(r.headers['retry-after-ms'], '1234');
  assert.is(r.headers['retry-after'], undefined);
  assert.is(r.headers['x-ratelimit-remaining-requests'], '0');
  assert.is((r.body as ErrorBody).error.code, '429');
  assert.is(emu.calls.count({ status: 429 }), before + 1, 'retries off: exactly one request');

  emu.faults.throttle({ forMs: 60_000, retryAfterMs: 1500, header: 'retry-after', bodyShape: 'flat' });
  const flat = await chat({ model: R1, messages: [{ role: 'user', content: 'x' }] });
  assert.is(flat.headers['retry-after'], '2');
  assert.is(flat.headers['retry-after-ms'], undefined);
  const fb = flat.body as { error: string; code: string; status: number; message: string };
  assert.equal([fb.error, fb.code, fb.status], ['Too Many Requests', 'RateLimitReached', 429]);

  emu.faults.throttle({ forMs: 60_000, header: 'none', model: LLAMA });
  assert.is((await chat({ model: R1, messages: [{ role: 'user', content: 'x' }] })).status, '200', 'a model filter spares other models');
  const none = await chat({ model: LLAMA, messages: [{ role: 'user', content: 'x' }] });
  assert.equal([none.status, none.headers['retry-after'], none.headers['retry-after-ms']], ['429', undefined, undefined]);
  emu.faults.clear();

  emu.faults.throttle({ forMs: 200, retryAfterMs: 400, header: 'retry-after-ms' });
  const n = emu.calls.count({ route: 'chat/completions' });
  const retried = await chat({ model: R1, messages: [{ role: 'user', content: 'x' }] }, modelClient(KEY, '2025-04-01', 1));
  assert.is(retried.status, '200', 'the pipeline waited retry-after-ms, past the throttle window, and retried');
  assert.is(emu.calls.count({ route: 'chat/completions' }), n + 2);
});

test('quota: requests over the model\'s RPM get 429 with retry hints; server-error and latency faults', async () => {
  const ok1 = await chat({ model: 'Tiny-Quota', messages: [{ role: 'user', content: 'one' }] });
  assert.is(ok1.headers['x-ratelimit-remaining-requests'], '1');
  assert.is((await chat({ model: 'Tiny-Quota', messages: [{ role: 'user', content: 'two' }] })).status, '200');
  const over = await chat({ model: 'Tiny-Quota', messages: [{ role: 'user', content: 'three' }] });
  assert.is(over.status, '429');
  assert.ok(Number(over.headers['retry-after']) >= 1 && Number(over.headers['retry-after-ms']) > 0);
  assert.is(over.headers['x-ratelimit-remaining-requests'], '0');

  emu.faults.serverError({ times: 1 });
  const failed = await chat({ model: LLAMA, messages: [{ role: 'user', content: 'x' }] });
  assert.is(failed.status, '500');
  assert.is((await chat({ model: LLAMA, messages: [{ role: 'user', content: 'x' }] })).status, '200');

  emu.faults.latency(150);
  const started = Date.now();
  assert.is((await client.path('/info').get()).status, '200');
  assert.ok(Date.now() - started >= 140, 'the answer waited for the injected latency');
  emu.faults.clear();
});

test('refusals: unknown model 404, image to a text model 400, two images to Llama 400, bad values 422 / 400', async () => {
  const unknown = await chat({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] });
  assert.is(unknown.status, '404');
  assert.equal((unknown.body as ErrorBody).error.code, 'unknown_model');
  const png = (await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer()).toString('base64');
  const img = `data:image/png;base64,${png}`;
  const textOnly = await chat({ model: R1, messages: [imageMessage('what is this', img)] });
  assert.is(textOnly.status, '400');
  assert.match((textOnly.body as ErrorBody).error.message, /does not accept image input/);
  const two = await chat({ model: LLAMA, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: img } }, { type: 'image_url', image_url: { url: img } }] }] });
  assert.is(two.status, '400');
  const remote = await chat({ model: LLAMA, messages: [imageMessage('x', 'https://example.com/a.jpg')] });
  assert.is(remote.status, '400');
  assert.match((remote.body as ErrorBody).error.message, /body\.messages\[0\]\.content\[1\]\.image_url\.url/);
  const garbage = await chat({ model: LLAMA, messages: [imageMessage('x', 'data:image/png;base64,AAAA')] });
  assert.is(garbage.status, '400');
  const hot = await chat({ model: LLAMA, messages: [{ role: 'user', content: 'x' }], temperature: 5 });
  assert.is(hot.status, '422');
  assert.equal((hot.body as ErrorBody).error.detail, { loc: ['body', 'temperature'], value: 5 });
  const empty = await chat({ model: LLAMA, messages: [] });
  assert.is(empty.status, '400');
  assert.match((empty.body as ErrorBody).error.message, /body\.messages/);
  const noModel = await chat({ messages: [{ role: 'user', content: 'x' }] });
  assert.is(noModel.status, '400', 'the /models endpoint serves several deployments: model is required');
});

test('tool_choice required: the model calls the tool with arguments that fit its parameters', async () => {
  const parameters = { type: 'object', required: ['tags'], properties: { tags: { type: 'array', minItems: 1, items: { type: 'string' } }, limit: { type: 'integer', minimum: 1, maximum: 5 } } };
  const body = completion(await chat({ model: LLAMA, messages: [{ role: 'user', content: 'find trending cat videos' }], tools: [{ type: 'function', function: { name: 'search_trends', parameters } }], tool_choice: 'required' }));
  const call = body.choices[0]!.message.tool_calls![0]!;
  assert.is(body.choices[0]!.finish_reason, 'tool_calls');
  assert.is(call.function.name, 'search_trends');
  const ajv = new Ajv();
  assert.ok(ajv.validate(parameters, JSON.parse(call.function.arguments)), ajv.errorsText());
});

test('stream: SSE chunks with reasoning deltas, a final chunk with finish_reason and usage, then [DONE]', async () => {
  const res = await client.path('/chat/completions').post({ body: { model: R1, stream: true, messages: [{ role: 'user', content: 'Stream a short answer about dance trends.' }] } }).asNodeStream();
  assert.is(res.status, '200');
  let text = '';
  for await (const chunk of res.body!) text += (chunk as Buffer).toString('utf8');
  const events = text.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
  assert.is(events[events.length - 1], '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { object: string; choices: { delta: { content?: string; reasoning_content?: string }; finish_reason: string | null }[]; usage?: Completion['usage'] });
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  const final = chunks[chunks.length - 1]!;
  assert.is(final.choices[0]!.finish_reason, 'stop');
  assert.ok(final.usage && final.usage.total_tokens === final.usage.prompt_tokens + final.usage.completion_tokens);
  const content = chunks.map((c) => c.choices[0]!.delta.content ?? '').join('');
  const reasoning = chunks.map((c) => c.choices[0]!.delta.reasoning_content ?? '').join('');
  const whole = completion(await chat({ model: R1, messages: [{ role: 'user', content: 'Stream a short answer about dance trends.' }] }));
  assert.is(content, whole.choices[0]!.message.content);
  assert.is(reasoning, whole.choices[0]!.message.reasoning_content);
});

test.run();
