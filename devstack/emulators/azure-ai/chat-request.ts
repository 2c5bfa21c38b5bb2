/**
 * Parses and validates a `POST /chat/completions` body (model inference API, `chat_completions.tsp`; fields in
 * reference/azure-ai-inference.md §3). Malformed structure gives 400 naming the field (`body.messages[0].role`);
 * a well-formed but unacceptable value gives 422 with `detail.loc` and `detail.value`, as documented.
 * Unknown fields are kept, dropped or refused according to the `extra-parameters` header.
 */
import { AiHttpError, badRequest, unprocessable } from './error-bodies.ts';

/** One image part of a message. */
export interface ChatImage {
  url: string;
  /** Field path, for errors: `body.messages[1].content[0].image_url.url`. */
  where: string;
}

/** A message reduced to what the emulator needs: its role, its text and its images. */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  text: string;
  images: ChatImage[];
}

/** The requested output format. */
export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name: string; schema: Record<string, unknown> };

/** A function tool the caller offers. */
export interface ToolDefinition {
  name: string;
  parameters?: Record<string, unknown>;
}

/** A validated chat-completions request. */
export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  maxTokens?: number;
  stream: boolean;
  responseFormat: ResponseFormat;
  tools: ToolDefinition[];
  toolChoice: 'auto' | 'none' | 'required' | { name: string };
  /** The body with unknown fields removed when `extra-parameters: drop`. */
  body: Record<string, unknown>;
}

const KNOWN = new Set(['messages', 'model', 'max_tokens', 'temperature', 'top_p', 'frequency_penalty', 'presence_penalty', 'stop', 'stream', 'response_format', 'tools', 'tool_choice', 'seed', 'modalities']);
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberIn(body: Record<string, unknown>, key: string, min: number, max: number, integer = false): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw unprocessable(['body', key], v, `must be ${integer ? 'an integer' : 'a number'}`);
  if (v < min || v > max) throw unprocessable(['body', key], v, `must be between ${min} and ${max}`);
  return v;
}

function parseContent(role: ChatMessage['role'], content: unknown, where: string): { text: string; images: ChatImage[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  if ((content === null || content === undefined) && (role === 'assistant')) return { text: '', images: [] };
  if (!Array.isArray(content)) throw badRequest(where, 'must be a string or a list of content parts');
  const texts: string[] = [];
  const images: ChatImage[] = [];
  content.forEach((part: unknown, j) => {
    const at = `${where}[${j}]`;
    if (!isObj(part)) throw badRequest(at, 'must be an object');
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw badRequest(`${at}.text`, 'must be a string');
      texts.push(part.text);
    } else if (part.type === 'image_url') {
      if (role !== 'user') throw badRequest(`${at}.type`, `image_url parts are allowed only in user messages, not ${role}`);
      const iu = part.image_url;
      if (!isObj(iu) || typeof iu.url !== 'string') throw badRequest(`${at}.image_url.url`, 'must be a string');
      if (iu.detail !== undefined && !['auto', 'low', 'high'].includes(String(iu.detail))) throw unprocessable([...at.split('.'), 'image_url', 'detail'], iu.detail, 'must be auto, low or high');
      images.push({ url: iu.url, where: `${at}.image_url.url` });
    } else if (part.type === 'input_audio' || part.type === 'audio_url') {
      throw new AiHttpError(400, 'BadRequest', `${at}: audio input is not supported by this deployment`, { param: at });
    } else {
      throw badRequest(`${at}.type`, `unknown content part type ${JSON.stringify(part.type)}`);
    }
  });
  return { text: texts.join('\n'), images };
}

function parseResponseFormat(v: unknown): ResponseFormat {
  if (v === undefined || v === null) return { type: 'text' };
  if (!isObj(v)) throw unprocessable(['body', 'response_format'], v, 'must be an object');
  if (v.type === 'text' || v.type === 'json_object') return { type: v.type };
  if (v.type === 'json_schema') {
    const js = v.json_schema;
    if (!isObj(js)) throw unprocessable(['body', 'response_format', 'json_schema'], js, 'is required for type json_schema');
    if (typeof js.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(js.name)) throw unprocessable(['body', 'response_format', 'json_schema', 'name'], js.name, 'must be 1-64 letters, digits, _ or -');
    if (!isObj(js.schema)) throw unprocessable(['body', 'response_format', 'json_schema', 'schema'], js.schema, 'must be a JSON Schema object');
    return { type: 'json_schema', name: js.name, schema: js.schema };
  }
  throw unprocessable(['body', 'response_format', 'type'], v.type, 'must be text, json_object or json_schema');
}

function parseTools(body: Record<string, unknown>): { tools: ToolDefinition[]; toolChoice: ChatRequest['toolChoice'] } {
  const raw = body.tools;
  const tools: ToolDefinition[] = [];
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw)) throw badRequest('body.tools', 'must be a list');
    raw.forEach((t: unknown, i) => {
      const fn = isObj(t) ? t.function : undefined;
      if (!isObj(t) || t.type !== 'function' || !isObj(fn) || typeof fn.name !== 'string') throw badRequest(`body.tools[${i}]`, 'must be {type: "function", function: {name, parameters?}}');
      tools.push({ name: fn.name, ...(isObj(fn.parameters) ? { parameters: fn.parameters } : {}) });
    });
  }
  const tc = body.tool_choice;
  let toolChoice: ChatRequest['toolChoice'] = 'auto';
  if (tc === 'auto' || tc === 'none' || tc === 'required') toolChoice = tc;
  else if (isObj(tc) && isObj(tc.function) && typeof tc.function.name === 'string') {
    const name = tc.function.name;
    if (!tools.some((t) => t.name === name)) throw unprocessable(['body', 'tool_choice', 'function', 'name'], name, 'names no tool in body.tools');
    toolChoice = { name };
  } else if (tc !== undefined && tc !== null) throw unprocessable(['body', 'tool_choice'], tc, 'must be auto, none, required or {type: "function", function: {name}}');
  if ((toolChoice === 'required') && tools.length === 0) throw unprocessable(['body', 'tool_choice'], tc, 'requires body.tools');
  return { tools, toolChoice };
}

/**
 * Validates a chat-completions body.
 * @param extraParameters the `extra-parameters` header: `error` refuses unknown fields (400), `drop` removes them,
 *   `pass-through` (and no header) keeps them.
 * @throws AiHttpError 400 / 422 naming the field.
 */
export function parseChatRequest(input: unknown, extraParameters: string | undefined): ChatRequest {
  if (!isObj(input)) throw badRequest('body', 'must be a JSON object');
  if (extraParameters !== undefined && !['error', 'drop', 'pass-through'].includes(extraParameters)) throw badRequest('headers.extra-parameters', 'must be error, drop or pass-through');
  const unknown = Object.keys(input).filter((k) => !KNOWN.has(k));
  if (unknown.length && extraParameters === 'error') {
    throw new AiHttpError(400, 'BadRequest', `Extra parameters ${JSON.stringify(unknown)} are not allowed when extra-parameters is 'error'. Send extra-parameters: pass-through or drop.`, { param: `body.${unknown[0]}` });
  }
  const body = extraParameters === 'drop' ? Object.fromEntries(Object.entries(input).filter(([k]) => KNOWN.has(k))) : input;
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw badRequest('body.messages', 'is required and must hold at least one message');
  const messages: ChatMessage[] = body.messages.map((m: unknown, i) => {
    const where = `body.messages[${i}]`;
    if (!isObj(m)) throw badRequest(where, 'must be an object');
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) throw badRequest(`${where}.role`, 'must be system, developer, user, assistant or tool');
    const role = m.role as ChatMessage['role'];
    if (role === 'tool' && typeof m.tool_call_id !== 'string') throw badRequest(`${where}.tool_call_id`, 'is required for tool messages');
    return { role, ...parseContent(role, m.content, `${where}.content`) };
  });
  if (body.model !== undefined && body.model !== null && typeof body.model !== 'string') throw badRequest('body.model', 'must be a string');
  const maxTokens = numberIn(body, 'max_tokens', 0, 1_000_000, true);
  numberIn(body, 'temperature', 0, 2);
  numberIn(body, 'top_p', 0, 1);
  numberIn(body, 'frequency_penalty', -2, 2);
  numberIn(body, 'presence_penalty', -2, 2);
  numberIn(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw badRequest('body.stream', 'must be a boolean');
  const stop = body.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string' && !(Array.isArray(stop) && stop.every((s) => typeof s === 'string'))) throw unprocessable(['body', 'stop'], stop, 'must be a string or a list of strings');
  return {
    ...(typeof body.model === 'string' ? { model: body.model } : {}),
    messages,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    stream: body.stream === true,
    responseFormat: parseResponseFormat(body.response_format),
    ...parseTools(body),
    body,
  };
}
