/**
 * Composes the AI emulator's deterministic answers from the request itself: the prompt's words and key terms,
 * the measured images, the requested format (text, JSON object, JSON Schema instance, tool call) and, for
 * reasoning models, a short reasoning text. Every text answer starts with `[emulator]` so nobody mistakes it for
 * a model's output. Token counts follow ./tokens.ts; reasoning tokens are part of the completion tokens (as
 * DeepSeek-R1 reports them, reference/azure-ai-inference.md §4), and `max_tokens` truncates with
 * `finish_reason: "length"`.
 */
import { SeededRandom, sha256Hex } from './deterministic-random.ts';
import { schemaInstance } from './schema-instance.ts';
import { charTokens, textTokens, truncateToTokens } from './tokens.ts';
import type { ChatRequest } from './chat-request.ts';
import type { AiModel } from './models.ts';
import type { ImageFacts } from './image-analysis.ts';

/** A function call the emulated model makes. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The answer before it is put on the wire. */
export interface ComposedAnswer {
  /** Answer text (JSON text for json formats); null when the model calls tools. */
  content: string | null;
  /** Reasoning text of a reasoning model. */
  reasoning?: string;
  toolCalls?: ToolCall[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  promptTokens: number;
  completionTokens: number;
}

const STOPWORDS = new Set('the and for with that this from what which into your you are was were have has had not but can will would should could about there their them they then than also just only very more most some such each when where while these those been being over under describe please give list tell make does like into onto upon image frame video'.split(' '));

/** Prompt tokens: text of every message and of the schema/tools sent, plus a fixed cost per image. */
export function promptTokens(req: ChatRequest, model: AiModel): number {
  const chars = req.messages.reduce((n, m) => n + m.text.length, 0);
  const images = req.messages.reduce((n, m) => n + m.images.length, 0);
  const extra = (req.responseFormat.type === 'json_schema' ? JSON.stringify(req.responseFormat.schema).length : 0) + (req.tools.length ? JSON.stringify(req.tools).length : 0);
  return charTokens(chars + extra) + images * model.imageTokens;
}

function userText(req: ChatRequest): string {
  const users = req.messages.filter((m) => m.role === 'user');
  return (users[users.length - 1] ?? req.messages[req.messages.length - 1]!).text;
}

function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? [];
}

/** Up to `n` key terms: longer non-stopwords, most frequent first, ties by first appearance. */
export function keyTerms(text: string, n = 5): string[] {
  const counts = new Map<string, number>();
  for (const w of wordsOf(text.toLowerCase())) if (w.length >= 4 && !STOPWORDS.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([w]) => w);
}

function describeImage(f: ImageFacts, i: number): string {
  return `Image ${i + 1}: ${f.width}x${f.height} px, mean brightness ${f.meanBrightness.toFixed(3)} (${f.brightnessLabel}), mean RGB (${f.meanRgb.join(', ')}), colourfulness ${f.colourfulness.toFixed(1)} (${f.colourfulnessLabel}); ${f.description}.`;
}

function imageJson(f: ImageFacts): Record<string, unknown> {
  return { width: f.width, height: f.height, meanBrightness: f.meanBrightness, meanRgb: f.meanRgb, colourfulness: f.colourfulness, dominantChannel: f.dominantChannel, description: f.description };
}

/**
 * Builds the answer to a validated request.
 * @param images facts of every image in the request, in order.
 * @throws Error when a JSON Schema (response format or tool parameters) cannot be instantiated; the server
 *   answers 422 naming the schema.
 */
export function composeAnswer(req: ChatRequest, model: AiModel, images: ImageFacts[]): ComposedAnswer {
  const prompt = userText(req);
  const seed = sha256Hex(JSON.stringify({ m: model.name, msgs: req.messages.map((x) => [x.role, x.text, x.images.map((i) => sha256Hex(i.url))]), f: req.responseFormat, t: req.tools, c: req.toolChoice }));
  const rng = new SeededRandom(seed);
  const terms = keyTerms(prompt);
  const promptWords = wordsOf(prompt);
  const summary = promptWords.slice(0, 24).join(' ') + (promptWords.length > 24 ? ' …' : '');
  const imageLines = images.map(describeImage);
  const sentence = images.length ? `[emulator] ${images.map((f) => f.description).join('; ')}` : `[emulator] ${summary || 'empty prompt'}`;
  const pool = [...new Set([...promptWords, ...images.flatMap((f) => wordsOf(f.description))])];
  const ctx = { words: pool.length ? pool : ['emulator', 'answer'], sentence, rng };

  let content: string | null;
  let toolCalls: ToolCall[] | undefined;
  const forced = req.toolChoice === 'required' ? req.tools[0] : typeof req.toolChoice === 'object' ? req.tools.find((t) => t.name === (req.toolChoice as { name: string }).name) : undefined;
  if (forced) {
    const args = forced.parameters ? schemaInstance(forced.parameters, ctx) : {};
    toolCalls = [{ id: `call_${seed.slice(0, 24)}`, type: 'function', function: { name: forced.name, arguments: JSON.stringify(args) } }];
    content = null;
  } else if (req.responseFormat.type === 'json_schema') {
    content = JSON.stringify(schemaInstance(req.responseFormat.schema, ctx));
  } else if (req.responseFormat.type === 'json_object') {
    content = JSON.stringify({ source: 'emulator', model: model.name, summary: sentence, keyTerms: terms, images: images.map(imageJson) });
  } else {
    content = [
      `[emulator] ${model.name} answer to a ${promptWords.length}-word prompt${terms.length ? ` about ${terms.join(', ')}` : ''}.`,
      ...imageLines,
      summary ? `Prompt summary: "${summary}"` : '',
    ].filter(Boolean).join('\n');
  }

  let reasoning = model.reasoning
    ? `[emulator] The request has ${promptWords.length} words and ${images.length} image(s); key terms: ${terms.join(', ') || 'none'}. I answer ${req.responseFormat.type === 'text' ? 'in plain text' : `as ${req.responseFormat.type}`}, briefly and deterministically.`
    : undefined;

  let finishReason: ComposedAnswer['finishReason'] = toolCalls ? 'tool_calls' : 'stop';
  if (req.maxTokens !== undefined) {
    let budget = req.maxTokens;
    if (reasoning !== undefined) {
      if (textTokens(reasoning) > budget) {
        reasoning = truncateToTokens(reasoning, budget);
        finishReason = 'length';
      }
      budget -= textTokens(reasoning);
    }
    if (content !== null && textTokens(content) > budget) {
      content = truncateToTokens(content, budget);
      finishReason = 'length';
    }
  }
  const completionTokens = Math.max(1, textTokens(content ?? '') + textTokens(reasoning ?? '') + (toolCalls ? textTokens(JSON.stringify(toolCalls)) : 0));
  return {
    content,
    ...(reasoning !== undefined ? { reasoning } : {}),
    ...(toolCalls ? { toolCalls } : {}),
    finishReason,
    promptTokens: promptTokens(req, model),
    completionTokens,
  };
}
