/**
 * Puts a composed answer on the wire as a `chat.completion` object or, for `stream: true`, as server-sent events
 * of `chat.completion.chunk` objects ending with a chunk that carries `finish_reason` and `usage`, then
 * `data: [DONE]` (reference/azure-ai-inference.md §4). A reasoning model's reasoning goes to
 * `message.reasoning_content` on api-version 2025-04-01 and inline as `<think>…</think>` before the content on
 * 2024-05-01-preview.
 */
import type { ServerResponse } from 'node:http';
import type { ComposedAnswer } from './answer-composer.ts';

/** The api-version that carries reasoning in `reasoning_content`. */
export const REASONING_FIELD_VERSION = '2025-04-01';

/** Fields that identify one completion. */
export interface CompletionIdentity {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  apiVersion: string;
}

function split(answer: ComposedAnswer, apiVersion: string): { content: string | null; reasoning?: string } {
  if (answer.reasoning === undefined) return { content: answer.content };
  if (apiVersion === REASONING_FIELD_VERSION) return { content: answer.content, reasoning: answer.reasoning };
  return { content: `<think>\n${answer.reasoning}\n</think>\n\n${answer.content ?? ''}` };
}

function usage(a: ComposedAnswer): Record<string, number> {
  return { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens, total_tokens: a.promptTokens + a.completionTokens };
}

/** The non-streaming response body. */
export function completionBody(a: ComposedAnswer, id: CompletionIdentity): Record<string, unknown> {
  const { content, reasoning } = split(a, id.apiVersion);
  return {
    id: id.id,
    object: 'chat.completion',
    created: id.created,
    model: id.model,
    choices: [
      {
        index: 0,
        finish_reason: a.finishReason,
        message: { role: 'assistant', content, ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}), ...(a.toolCalls ? { tool_calls: a.toolCalls } : {}) },
      },
    ],
    usage: usage(a),
  };
}

function pieces(text: string, size = 24): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Writes the answer as SSE to `res` (headers already set by the caller) and ends it. */
export function writeStream(res: ServerResponse, a: ComposedAnswer, id: CompletionIdentity): void {
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): void => {
    const body = { id: id.id, object: 'chat.completion.chunk', created: id.created, model: id.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra };
    res.write(`data: ${JSON.stringify(body)}\n\n`);
  };
  chunk({ role: 'assistant', content: '' }, null);
  const { content, reasoning } = split(a, id.apiVersion);
  if (reasoning !== undefined) for (const p of pieces(reasoning)) chunk({ reasoning_content: p }, null);
  if (content) for (const p of pieces(content)) chunk({ content: p }, null);
  if (a.toolCalls) chunk({ tool_calls: a.toolCalls.map((t, index) => ({ index, ...t })) }, null);
  chunk({}, a.finishReason, { usage: usage(a) });
  res.end('data: [DONE]\n\n');
}
