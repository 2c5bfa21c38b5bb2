/**
 * A chat request in the coordinator's own terms ({@link ChatPrompt}), and the three things derived from it per
 * deployment: the wire body for `POST /chat/completions`, the normalised form hashed into the response-cache key
 * (image bytes replaced by their sha256), and the prompt-token estimate used for TPM reservations and budgets.
 *
 * Wire facts (reference/azure-ai-inference.md §3, §9): user content is a string or content parts; an image is
 * `{type:'image_url', image_url:{url:'data:image/jpeg;base64,…'}}`; structured output is
 * `response_format: {type:'json_schema', json_schema:{name, schema, strict}}`; reasoning models do not take
 * `temperature`, so it is sent only to the others.
 */
import { createHash } from 'node:crypto';
import type { ChatRequestMessage, ChatMessageContentItem, ChatCompletionsResponseFormatJsonSchema } from '@azure-rest/ai-inference';
import type { ModelDeployment, ModelTask } from './model-deployment.ts';

/** A text or image part of a user message. `sha256` is the hex digest of `data`. */
export type PromptPart =
  | { type: 'text'; text: string }
  | { type: 'image'; mimeType: 'image/jpeg' | 'image/png'; data: Buffer; sha256: string };

/** One message. Only user messages carry parts. */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | PromptPart[];
}

/** What the coordinator asks a model, before a deployment is chosen. */
export interface ChatPrompt {
  task: ModelTask;
  messages: PromptMessage[];
  /** Upper bound on output tokens asked by the caller; capped by the deployment's `maxOutputTokens`. */
  maxTokens?: number;
  /** Ask for JSON valid against `schema` (strict structured output). */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
}

/** Output-token bound used when the caller names none (tokens). */
export const DEFAULT_MAX_TOKENS: Readonly<Record<ModelTask, number>> = { vision: 1024, text: 4096 };

/**
 * Tokens one image is assumed to cost before the call: OCI documents ~1,610 tokens for a 512×512 image with
 * Llama 3.2 Vision (reference/azure-ai-inference.md §9; an estimate, not Azure-specific).
 */
export const IMAGE_TOKEN_ESTIMATE = 1610;

/** The wire body of `POST /chat/completions`. */
export interface ChatBody {
  messages: ChatRequestMessage[];
  model: string;
  max_tokens: number;
  temperature?: number;
  response_format?: ChatCompletionsResponseFormatJsonSchema;
}

/** The `max_tokens` sent to `m`: the caller's bound (or the task default) capped by the deployment's limit. */
export function maxTokensFor(prompt: ChatPrompt, m: ModelDeployment): number {
  const asked = prompt.maxTokens ?? DEFAULT_MAX_TOKENS[prompt.task];
  return Math.max(1, Math.min(asked, m.maxOutputTokens ?? Number.POSITIVE_INFINITY));
}

function wireMessage(msg: PromptMessage): ChatRequestMessage {
  if (msg.role === 'user') {
    if (typeof msg.content === 'string') return { role: 'user', content: msg.content };
    const parts: ChatMessageContentItem[] = msg.content.map((p) =>
      p.type === 'text'
        ? { type: 'text', text: p.text }
        : { type: 'image_url', image_url: { url: `data:${p.mimeType};base64,${p.data.toString('base64')}` } },
    );
    return { role: 'user', content: parts };
  }
  const text = typeof msg.content === 'string' ? msg.content : msg.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
  return msg.role === 'system' ? { role: 'system', content: text } : { role: 'assistant', content: text };
}

/** The body sent to deployment `m`. */
export function chatBody(prompt: ChatPrompt, m: ModelDeployment): ChatBody {
  const body: ChatBody = { messages: prompt.messages.map(wireMessage), model: m.model, max_tokens: maxTokensFor(prompt, m) };
  if (!m.reasoning) body.temperature = 0;
  if (prompt.jsonSchema) {
    body.response_format = { type: 'json_schema', json_schema: { name: prompt.jsonSchema.name, schema: prompt.jsonSchema.schema, strict: true } };
  }
  return body;
}

/** Serialises with object keys sorted at every level, so equal requests hash equally whatever the key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `canonicalJson` of the hashed form of `messages` (`{role, content}` with text trimmed and each image as
 * `{type: 'image', mime, sha256}`), written out for these fixed shapes: the same text, without the sorted entry
 * arrays of the general walk (about 6 KB of garbage per call less on the coordinator's path: issue 5 §8).
 * test/ai/coordinator-parts.test.ts pins the hashes, so a cache key never changes by accident.
 */
function canonicalMessages(messages: readonly PromptMessage[]): string {
  let out = '[';
  for (let i = 0; i < messages.length; i++) {
    const msg = messages[i]!;
    out += i === 0 ? '{"content":' : ',{"content":';
    if (typeof msg.content === 'string') {
      out += JSON.stringify(msg.content.trim());
    } else {
      out += '[';
      for (let j = 0; j < msg.content.length; j++) {
        const part = msg.content[j]!;
        if (j > 0) out += ',';
        out +=
          part.type === 'text'
            ? `{"text":${JSON.stringify(part.text.trim())},"type":"text"}`
            : `{"mime":${JSON.stringify(part.mimeType)},"sha256":${JSON.stringify(part.sha256)},"type":"image"}`;
      }
      out += ']';
    }
    out += `,"role":${JSON.stringify(msg.role)}}`;
  }
  return `${out}]`;
}

/**
 * The response-cache key material of `prompt` on `m`, hashed: sha256 (hex) of the canonical JSON of the model id,
 * the messages (images as `sha256:<hex>` of their bytes, text whitespace-trimmed), `max_tokens`, `temperature` and
 * `response_format`. The deployment name and endpoint are left out, so the same model behind two names shares
 * answers; the API version too, because reasoning is stripped before anything is cached.
 */
export function requestHash(prompt: ChatPrompt, m: ModelDeployment): string {
  return requestHashes(prompt, [m])[0] ?? '';
}

/**
 * {@link requestHash} of `prompt` on each deployment of `chain`, in order. The deployment-independent part (the
 * messages, with each image's digest taken from its part, and the JSON schema) is serialised once for all of them,
 * and no wire body (with base64 images) is built: the cost is one sha256 over the canonical text per deployment.
 */
export function requestHashes(prompt: ChatPrompt, chain: readonly ModelDeployment[]): string[] {
  if (chain.length === 0) return [];
  const messages = canonicalMessages(prompt.messages);
  const responseFormat = prompt.jsonSchema
    ? canonicalJson({ type: 'json_schema', json_schema: { name: prompt.jsonSchema.name, schema: prompt.jsonSchema.schema, strict: true } })
    : undefined;
  // The keys of the material in canonical (sorted) order: max_tokens, messages, model, response_format, temperature, v.
  return chain.map((m) => {
    const material =
      `{"max_tokens":${maxTokensFor(prompt, m)},"messages":${messages},"model":${JSON.stringify(m.model)}` +
      (responseFormat !== undefined ? `,"response_format":${responseFormat}` : '') +
      (m.reasoning ? '' : ',"temperature":0') +
      ',"v":1}';
    return createHash('sha256').update(material).digest('hex');
  });
}

/**
 * Prompt tokens assumed before the call: ~4 characters per token of text, {@link IMAGE_TOKEN_ESTIMATE} per
 * image, 4 per message for the chat framing, plus the JSON schema's text. Used only for reservations.
 */
export function estimatePromptTokens(prompt: ChatPrompt): number {
  let chars = 0;
  let images = 0;
  for (const msg of prompt.messages) {
    if (typeof msg.content === 'string') chars += msg.content.length;
    else for (const p of msg.content) p.type === 'text' ? (chars += p.text.length) : (images += 1);
  }
  if (prompt.jsonSchema) chars += JSON.stringify(prompt.jsonSchema.schema).length;
  return Math.ceil(chars / 4) + images * IMAGE_TOKEN_ESTIMATE + 4 * prompt.messages.length;
}

/** Hex sha256 of `data`. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
