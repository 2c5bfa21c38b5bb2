/**
 * `POST /chat/completions`: validates the body, resolves the deployment (`model` field, else the
 * `azureml-model-deployment` header, else the only / default model), applies injected faults and the model's
 * RPM/TPM quota, checks the modality (images only for vision models, at most `maxImagesPerRequest`), measures the
 * images, composes the deterministic answer and sends it as JSON or SSE with `x-ratelimit-*` headers.
 */
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { AiHttpError, badRequest, unprocessable, type ErrorShape } from './error-bodies.ts';
import { parseChatRequest } from './chat-request.ts';
import { analyseImage, decodeDataUrl, type ImageFacts } from './image-analysis.ts';
import { composeAnswer, promptTokens, type ComposedAnswer } from './answer-composer.ts';
import { completionBody, writeStream } from './chat-response.ts';
import { sha256Hex } from './deterministic-random.ts';
import type { AiModel } from './models.ts';
import type { ModelQuota } from './rate-limits.ts';
import type { FaultVerdict } from './faults.ts';
import type { RequestContext } from './server.ts';

/** What the chat handler needs from the server. */
export interface ChatDeps {
  models: readonly AiModel[];
  quotas: ReadonlyMap<string, ModelQuota>;
  faults: { check(model: string | undefined): FaultVerdict };
  /** The model, or AiHttpError 404 `unknown_model`. */
  findModel(name: string): AiModel;
  sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  sendError(e: AiHttpError, shape?: ErrorShape): void;
}

let sequence = 0;

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Headers carrying a retry hint of `ms` milliseconds. */
function retryHeaders(ms: number, which: 'retry-after' | 'retry-after-ms' | 'none' | 'both'): Record<string, string> {
  const out: Record<string, string> = {};
  if (which === 'retry-after' || which === 'both') out['retry-after'] = String(Math.max(1, Math.ceil(ms / 1000)));
  if (which === 'retry-after-ms' || which === 'both') out['retry-after-ms'] = String(ms);
  return out;
}

/**
 * Serves one chat-completions request.
 * @throws AiHttpError for every refusal (the server renders it).
 */
export async function handleChat(ctx: RequestContext, deps: ChatDeps): Promise<void> {
  let input: unknown;
  try {
    input = JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw badRequest('body', 'is not valid JSON');
  }
  ctx.record.body = input;
  const chat = parseChatRequest(input, header(ctx, 'extra-parameters'));
  const named = chat.model ?? header(ctx, 'azureml-model-deployment');
  if (named !== undefined) ctx.record.model = named;
  let model: AiModel;
  if (named !== undefined) model = deps.findModel(named);
  else if (ctx.base === '' || deps.models.length === 1) model = deps.models[0]!;
  else throw badRequest('body.model', `is required on the /models endpoint, which serves several deployments (${deps.models.map((m) => m.name).join(', ')})`);
  ctx.record.model = model.name;
  const quota = deps.quotas.get(model.name)!;

  const verdict = deps.faults.check(model.name);
  if (verdict?.kind === 'throttle') {
    ctx.record.fault = 'throttle';
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    const limits = quota.headers();
    const headers = { ...limits, 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '0', ...retryHeaders(verdict.retryAfterMs, verdict.header) };
    return deps.sendError(new AiHttpError(429, verdict.shape === 'flat' ? 'RateLimitReached' : '429', `Rate limit is exceeded. Try again in ${seconds} seconds.`, { headers }), verdict.shape);
  }
  if (verdict?.kind === 'server-error') {
    ctx.record.fault = 'server-error';
    throw new AiHttpError(verdict.status, 'InternalServerError', 'The server had an error while processing your request (emulator fault).');
  }

  const images = chat.messages.flatMap((m) => m.images);
  if (images.length > 0 && !model.vision) {
    throw new AiHttpError(400, 'BadRequest', `${images[0]!.where}: model ${model.name} does not accept image input; send images to a vision model.`, { param: images[0]!.where });
  }
  if (images.length > model.maxImagesPerRequest) {
    throw new AiHttpError(400, 'BadRequest', `body.messages: model ${model.name} accepts at most ${model.maxImagesPerRequest} image(s) per request; got ${images.length}.`, { param: 'body.messages' });
  }

  const prompt = promptTokens(chat, model);
  const admission = quota.admit(prompt + (chat.maxTokens ?? 0));
  if (!admission.admitted) {
    const seconds = Math.ceil(admission.retryAfterMs / 1000);
    throw new AiHttpError(429, '429', `Requests to the ChatCompletions_Create Operation under Azure AI Model Inference API have exceeded the rate limit of deployment ${model.name} (${model.requestsPerMinute} requests / ${model.tokensPerMinute} tokens per minute). Please retry after ${seconds} seconds.`, {
      headers: { ...admission.headers, ...retryHeaders(admission.retryAfterMs, 'both') },
    });
  }

  const facts: ImageFacts[] = [];
  for (const img of images) {
    const f = await analyseImage(decodeDataUrl(img.url, img.where), img.where);
    const edge = Math.max(f.width, f.height);
    if (model.maxImageEdgePx !== undefined && edge > model.maxImageEdgePx) {
      throw badRequest(img.where, `the image is ${f.width}x${f.height} px; ${model.name} accepts at most ${model.maxImageEdgePx} px on the longer edge`);
    }
    facts.push(f);
  }

  let answer: ComposedAnswer;
  try {
    answer = composeAnswer(chat, model, facts);
  } catch (e) {
    throw unprocessable(['body', 'response_format', 'json_schema', 'schema'], undefined, e instanceof Error ? e.message : String(e));
  }
  if (chat.maxTokens === undefined) quota.charge(answer.completionTokens);

  sequence += 1;
  const identity = { id: `chatcmpl-${sha256Hex(`${JSON.stringify(input)}#${sequence}`).slice(0, 29)}`, created: Math.floor(Date.now() / 1000), model: model.name, apiVersion: ctx.apiVersion };
  const clientRequestId = header(ctx, 'x-ms-client-request-id');
  const headers: Record<string, string> = { ...quota.headers(), 'apim-request-id': randomUUID(), 'x-ms-region': 'emulator', ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}) };
  ctx.record.status = 200;
  ctx.record.usage = { prompt_tokens: answer.promptTokens, completion_tokens: answer.completionTokens, total_tokens: answer.promptTokens + answer.completionTokens };
  if (chat.stream) {
    if (ctx.res.destroyed) return;
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
    writeStream(ctx.res, answer, identity);
    return;
  }
  deps.sendJson(ctx.res, 200, completionBody(answer, identity), headers);
}
