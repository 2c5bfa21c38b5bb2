/**
 * The coordinator's pure parts: reasoning stripping, JSON parsing and validation, retry-after parsing and backoff,
 * the circuit breaker, cost arithmetic, request hashing, registry and request validation.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stripReasoning } from '../../services/ai/reasoning.ts';
import { JsonSchemaCache, parseJsonAnswer, repairInstruction } from '../../services/ai/json-output.ts';
import { backoffMs, remainingHeader, resetHeaderMs, retryBudget, serverRetryAfterMs } from '../../services/ai/retry-policy.ts';
import { CircuitBreaker } from '../../services/ai/circuit-breaker.ts';
import { costUsd } from '../../services/ai/cost.ts';
import { chatBody, estimatePromptTokens, requestHash, requestHashes, sha256Hex, type ChatPrompt } from '../../services/ai/chat-request.ts';
import { validateDeployments, type ModelDeployment } from '../../services/ai/model-deployment.ts';
import { ModelRouter } from '../../services/ai/model-router.ts';
import { checkDescribeImage, DEFAULT_REQUEST_LIMITS } from '../../services/ai/request-limits.ts';
import { errorDetails, isRetryableStatus } from '../../services/ai/model-attempt.ts';
import type { ModelSpec } from '../../services/platform/desired-state.ts';
import { problems } from '../support/problems.ts';

/** Compile-time check: a desired-state model entry is a ModelDeployment (typecheck fails otherwise). */
export const fromDesiredState = (s: ModelSpec): ModelDeployment => s;

function deployment(over: Partial<ModelDeployment> = {}): ModelDeployment {
  return {
    name: 'llama-vision',
    use: ['vision'],
    endpoint: 'https://res.services.ai.azure.com/models',
    model: 'Llama-3.2-11B-Vision-Instruct',
    quota: { requestsPerMinute: 60, tokensPerMinute: 100_000 },
    pricePer1MTokens: { input: 0.37, output: 0.37 },
    ...over,
  };
}


test('stripReasoning removes think blocks, a stray closing tag and an unclosed block', () => {
  assert.is(stripReasoning('<think>\nweigh options\n</think>\n\n{"a":1}'), '{"a":1}');
  assert.is(stripReasoning('private musing</think>{"a":1}'), '{"a":1}');
  assert.is(stripReasoning('{"a":1}'), '{"a":1}');
  assert.is(stripReasoning('<THINK>x</THINK>answer'), 'answer');
  assert.is(stripReasoning('answer <think>cut off while thinking'), 'answer');
  assert.is(stripReasoning('<think>a</think>one <think>b</think>two'), 'one two');
});

test('parseJsonAnswer tolerates a json fence, validates, and words problems with JSON paths', () => {
  const schemas = new JsonSchemaCache();
  const v = schemas.validator({ type: 'object', required: ['mood'], properties: { mood: { type: 'string' }, n: { type: 'integer' } }, additionalProperties: false });
  assert.equal(parseJsonAnswer('```json\n{"mood":"calm"}\n```', v), { ok: true, json: { mood: 'calm' } });
  assert.equal(parseJsonAnswer(' {"mood":"calm","n":2} ', v), { ok: true, json: { mood: 'calm', n: 2 } });
  const bad = parseJsonAnswer('{"n":"two","x":1}', v);
  assert.is(bad.ok, false);
  if (!bad.ok) {
    assert.ok(bad.errors.includes("(root): must have required property 'mood'"), bad.errors.join('\n'));
    assert.ok(bad.errors.includes('/n: must be integer'));
    assert.ok(bad.errors.includes('(root): must NOT have additional properties (x)'));
    assert.match(repairInstruction(bad.errors), /- \/n: must be integer/);
  }
  const notJson = parseJsonAnswer('Sure! Here it is: {mood}', v);
  assert.is(notJson.ok, false);
  if (!notJson.ok) assert.match(notJson.errors[0] ?? '', /^\(root\): not JSON/);
  const arr = parseJsonAnswer('[1]', v);
  assert.equal(arr, { ok: false, errors: ['(root): must be a JSON object'] });
  assert.is(schemas.validator({ type: 'object', required: ['mood'], properties: { mood: { type: 'string' }, n: { type: 'integer' } }, additionalProperties: false }), v, 'compiled once per schema');
  assert.equal(problems(() => schemas.validator({ type: 'no-such-type' })).length, 1);
});

test('serverRetryAfterMs reads retry-after-ms, x-ms-retry-after-ms, retry-after seconds and dates; ignores nonsense', () => {
  const now = Date.parse('2026-11-29T10:00:00Z');
  assert.is(serverRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now), 250);
  assert.is(serverRetryAfterMs({ 'x-ms-retry-after-ms': '1200.4' }, now), 1201);
  assert.is(serverRetryAfterMs({ 'retry-after': '2' }, now), 2000);
  assert.is(serverRetryAfterMs({ 'retry-after': 'Sun, 29 Nov 2026 10:00:03 GMT' }, now), 3000);
  assert.is(serverRetryAfterMs({ 'retry-after': 'Sun, 29 Nov 2026 09:00:00 GMT' }, now), 0);
  assert.is(serverRetryAfterMs({ 'retry-after-ms': '-1' }, now), undefined);
  assert.is(serverRetryAfterMs({ 'retry-after': 'soon' }, now), undefined);
  assert.is(serverRetryAfterMs({}, now), undefined);
  assert.is(remainingHeader('-1'), undefined);
  assert.is(remainingHeader('1014'), 1014);
  assert.is(resetHeaderMs('6'), 6000);
  assert.is(resetHeaderMs('1m30s'), 90_000);
  assert.is(resetHeaderMs('250ms'), 250);
  assert.is(resetHeaderMs('later'), undefined);
});

test('backoffMs doubles from the base, stays within [d/2, d] and is capped', () => {
  const b = retryBudget({ baseDelayMs: 100, maxDelayMs: 1000 });
  assert.is(backoffMs(1, b, () => 0), 50);
  assert.is(backoffMs(1, b, () => 0.999999), 100);
  assert.is(backoffMs(3, b, () => 0), 200);
  assert.is(backoffMs(10, b, () => 0.999999), 1000);
  assert.is(retryBudget({ maxAttempts: 0 }).maxAttempts, 1);
});

test('circuit breaker opens after N consecutive failures, probes once after the cool-down, closes on success', () => {
  let now = 1_000;
  const b = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 500 }, () => now);
  assert.ok(b.tryAcquire());
  assert.is(b.onFailure(), false);
  b.onSuccess();
  assert.is(b.onFailure(), false, 'success reset the count');
  assert.is(b.onFailure(), true, 'second consecutive failure opens');
  assert.is(b.state(), 'open');
  assert.is(b.tryAcquire(), false);
  now += 500;
  assert.is(b.state(), 'half-open');
  assert.ok(b.tryAcquire(), 'one probe');
  assert.is(b.tryAcquire(), false, 'only one probe at a time');
  assert.is(b.onFailure(), true, 'failed probe re-opens');
  assert.is(b.tryAcquire(), false);
  now += 500;
  assert.ok(b.tryAcquire());
  b.onSuccess();
  assert.is(b.state(), 'closed');
  assert.ok(b.tryAcquire() && b.tryAcquire());
});

test('costUsd: prompt/1e6*input + completion/1e6*output with prices from reference/azure-ai-inference.md §10', () => {
  // DeepSeek-R1 on Azure AI Foundry: 1.35 USD input, 5.40 USD output per 1M tokens.
  assert.is(costUsd({ input: 1.35, output: 5.4 }, 1000, 500), 0.00405);
  // Llama-3.2-11B-Vision-Instruct: 0.37 / 0.37.
  assert.is(costUsd({ input: 0.37, output: 0.37 }, 1_610, 90), 0.000629);
  assert.is(costUsd({ input: 0, output: 0 }, 10, 10), 0);
});

test('request hashes are pinned: a cache key never changes by accident (entries written before a deploy stay hits)', () => {
  const vision = deployment({ model: 'Llama-3.2-11B-Vision-Instruct', maxOutputTokens: 300 });
  const r1 = deployment({ name: 'r', model: 'DeepSeek-R1', reasoning: true, maxOutputTokens: 300 });
  const prompts: ChatPrompt[] = [
    { task: 'vision', maxTokens: 200, messages: [{ role: 'user', content: [{ type: 'text', text: ' Describe "this" frame\n' }, { type: 'image', mimeType: 'image/jpeg', data: Buffer.from('x'), sha256: 'ab'.repeat(32) }] }] },
    {
      task: 'text',
      messages: [{ role: 'system', content: 'You are \u00e9 a \\ critic ' }, { role: 'user', content: 'Summarise\tthe trends 🎉' }, { role: 'assistant', content: [{ type: 'text', text: 'prior' }] }],
      jsonSchema: { name: 'report', schema: { type: 'object', required: ['b', 'a'], properties: { b: { type: 'string' }, a: { type: 'number', minimum: 0 } }, additionalProperties: false } },
    },
  ];
  assert.equal(requestHashes(prompts[0]!, [vision, r1]), ['f56e53785d1c1fffc68786b9cf2984bedbeaba074686f9629bcad8c341787e38', '2611d17d5c6630bfd3b9bf75c1af6d197dfee9c3ff271518979e01e2ac33547c']);
  assert.equal(requestHashes(prompts[1]!, [vision, r1]), ['6b0ae680aa4c41864a9ccfab46d98572c3fa20e484367890770665bf585163d5', '9b0537ee7e9cc97c970b061f1796dd553c5fad48c03b7d8be04130715f2ec94f']);
});

test('request hash: image bytes hashed, key order and surrounding whitespace ignored, parameters count', () => {
  const img = Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]);
  const base = (text: string, data = img, maxTokens = 100): ChatPrompt => ({
    task: 'vision',
    maxTokens,
    messages: [{ role: 'user', content: [{ type: 'text', text }, { type: 'image', mimeType: 'image/jpeg', data, sha256: sha256Hex(data) }] }],
  });
  const m = deployment();
  assert.is(requestHash(base('describe'), m), requestHash(base('  describe \n'), m));
  assert.is.not(requestHash(base('describe'), m), requestHash(base('describe', Buffer.from([0xff, 0xd8, 0xff, 9])), m));
  assert.is.not(requestHash(base('describe'), m), requestHash(base('describe', img, 101), m));
  assert.is.not(requestHash(base('describe'), m), requestHash(base('describe'), deployment({ model: 'other' })));
  assert.is(requestHash(base('describe'), m), requestHash(base('describe'), deployment({ name: 'alias', endpoint: 'https://other.services.ai.azure.com/models' })));
  const body = chatBody(base('describe'), deployment({ maxOutputTokens: 64 }));
  assert.is(body.max_tokens, 64, 'capped by the deployment');
  assert.is(body.temperature, 0);
  const part = (body.messages[0] as { content: Array<{ type: string; image_url?: { url: string } }> }).content[1];
  assert.is(part?.image_url?.url, `data:image/jpeg;base64,${img.toString('base64')}`);
  assert.is(chatBody(base('x'), deployment({ reasoning: true })).temperature, undefined, 'no temperature for reasoning models');
  assert.is(estimatePromptTokens(base('abcdefgh')), 2 + 1610 + 4);
});

test('registry validation names each bad field; http needs allowInsecureConnection', () => {
  const p = problems(() =>
    validateDeployments(
      [
        deployment({ endpoint: 'http://127.0.0.1:9/models' }),
        deployment({ name: 'llama-vision', pricePer1MTokens: { input: -1, output: 1 } }),
        deployment({ name: 'x', use: [], endpoint: 'ftp://x', apiVersion: '2023-01-01', quota: { requestsPerMinute: 0, tokensPerMinute: 5 } }),
      ],
      false,
    ),
  );
  assert.ok(p.some((l) => l.startsWith('models[0].endpoint: is http')), p.join('\n'));
  assert.ok(p.includes('models[1].name: duplicates the deployment name "llama-vision"'));
  assert.ok(p.includes('models[1].pricePer1MTokens.input: must be a number >= 0 (USD per 1M tokens)'));
  assert.ok(p.includes('models[2].use: must be a non-empty list of vision, text, reasoning'));
  assert.ok(p.includes('models[2].endpoint: must be an https URL'));
  assert.ok(p.includes('models[2].apiVersion: must be one of 2025-04-01, 2024-05-01-preview'));
  assert.ok(p.includes('models[2].quota.requestsPerMinute: must be > 0'));
  validateDeployments([deployment({ endpoint: 'http://127.0.0.1:9/models' })], true);
});

test('router: deployments serving the task, cheapest worst case first, registry order on ties', () => {
  const models = [
    deployment({ name: 'r1', use: ['text', 'reasoning'], model: 'DeepSeek-R1', pricePer1MTokens: { input: 1.35, output: 5.4 } }),
    deployment({ name: 'v3', use: ['text'], model: 'DeepSeek-V3', pricePer1MTokens: { input: 1.14, output: 4.56 } }),
    deployment({ name: 'v3b', use: ['text'], model: 'DeepSeek-V3', pricePer1MTokens: { input: 1.14, output: 4.56 } }),
    deployment({ name: 'vision', use: ['vision'] }),
  ];
  const router = new ModelRouter(models);
  const text: ChatPrompt = { task: 'text', messages: [{ role: 'user', content: 'hi' }] };
  assert.equal(router.chain(text).map((m) => m.name), ['v3', 'v3b', 'r1']);
  assert.equal(router.chain({ ...text, task: 'vision' }).map((m) => m.name), ['vision']);
  assert.equal(router.states(), { r1: 'closed', v3: 'closed', v3b: 'closed', vision: 'closed' });
});

test('request checks name the field: image bytes vs mimeType, size, context ids', () => {
  const p = problems(() =>
    checkDescribeImage(
      { image: Buffer.from('not a jpeg'), mimeType: 'image/jpeg', prompt: ' ', context: { tenantId: 'acme', analysisId: 'a:b' }, maxTokens: 0 },
      DEFAULT_REQUEST_LIMITS,
    ),
  );
  assert.equal(p.sort(), [
    'context.analysisId: must match [A-Za-z0-9_.-]{1,128}',
    'image: bytes are not a JPEG (FF D8 FF) as mimeType says',
    'maxTokens: must be an integer from 1 to 32768',
    'prompt: must be a non-empty string',
  ]);
  const big = problems(() => checkDescribeImage({ image: Buffer.alloc(11, 0xff), mimeType: 'image/jpeg', prompt: 'x', context: { tenantId: 't', analysisId: 'a' } }, { ...DEFAULT_REQUEST_LIMITS, maxImageBytes: 10 }));
  assert.equal(big, ['image: must be at most 10 bytes (got 11)']);
});

test('error bodies: nested, flat and plain; retryable statuses', () => {
  assert.equal(errorDetails({ error: { code: '429', message: 'Rate limit is exceeded.' } }, {}, 429), { code: '429', message: 'Rate limit is exceeded.' });
  assert.equal(errorDetails({ code: 'BadRequest', message: 'bad' }, {}, 400), { code: 'BadRequest', message: 'bad' });
  assert.equal(errorDetails({ error: 'Bad Request', message: 'bad', status: 400 }, {}, 400), { code: 'Bad Request', message: 'bad' });
  assert.equal(errorDetails('oops', { 'x-ms-error-code': 'InternalError' }, 500), { code: 'InternalError', message: 'oops' });
  assert.equal(errorDetails(undefined, {}, 502), { code: 'http_502', message: 'HTTP 502' });
  assert.equal([429, 408, 500, 503, 501, 505, 400, 404, 422].map(isRetryableStatus), [true, true, true, true, false, false, false, false, false]);
});

test.run();
