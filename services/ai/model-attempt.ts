/**
 * One HTTP attempt against one deployment (`POST /chat/completions`) and what it means for the caller:
 * an answer, a retryable failure (429, 408, 5xx other than 501/505, timeout, transport error) or a terminal one
 * (any other 4xx, a content-filtered answer, a credential that cannot produce a token).
 *
 * Facts (reference/azure-ai-inference.md §4, §5; reference/standin-pitfalls.md §3): non-2xx responses do not throw,
 * `isUnexpected(res)` says whether the status is the expected 200; error bodies come nested
 * (`{error:{code,message}}`, Foundry / Azure OpenAI) or flat (`{code,message}` or `{error:"…",message:"…"}`, the
 * reference doc), and `x-ms-error-code` may name the code; `usage` has `prompt_tokens` and `completion_tokens`
 * (reasoning included in the latter).
 */
import { isUnexpected, type ModelClient } from '@azure-rest/ai-inference';
import { GATED_HEADER, gateRequest, NotSentError } from './admission-gate.ts';
import type { ChatBody } from './chat-request.ts';
import type { HeaderMap } from './retry-policy.ts';

/** A usable answer. `content` is the raw message content (reasoning not yet stripped). */
export interface AttemptAnswer {
  kind: 'ok';
  content: string;
  finishReason: string | null;
  /** Token counts from `usage`; `usageReported` false when the response had none (the estimate is used). */
  promptTokens: number;
  completionTokens: number;
  usageReported: boolean;
  headers: HeaderMap;
  durationMs: number;
}

/** A failed attempt. `status` is absent for timeouts and transport errors. */
export interface AttemptFailure {
  kind: 'retryable' | 'terminal';
  status?: number;
  /** Machine code: the service's error code, or `timeout`, `transport`, `http_<status>`, `content_filtered`. */
  code: string;
  /** Human message (the service's, cut to 300 characters; never a header or a credential). */
  message: string;
  headers: HeaderMap;
  durationMs: number;
}

/** The outcome of one attempt. */
export type AttemptOutcome = AttemptAnswer | AttemptFailure;

function lowerHeaders(raw: unknown): HeaderMap {
  const out: Record<string, string> = {};
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;
}

/** Reads `{error:{code,message}}`, `{code,message}` and `{error:"…",message:"…"}` error bodies (and plain text). */
export function errorDetails(body: unknown, headers: HeaderMap, status: number): { code: string; message: string } {
  let code: string | undefined;
  let message: string | undefined;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const nested = b.error && typeof b.error === 'object' ? (b.error as Record<string, unknown>) : undefined;
    code = str(nested?.code) ?? str(b.code) ?? (typeof b.error === 'string' ? b.error : undefined);
    message = str(nested?.message) ?? str(b.message);
  } else if (typeof body === 'string') {
    message = body;
  }
  code = code ?? headers['x-ms-error-code'] ?? `http_${status}`;
  message = (message ?? `HTTP ${status}`).replace(/\s+/g, ' ').slice(0, 300);
  return { code, message };
}

/** Whether an HTTP status is worth retrying (throttling, timeouts, server errors except "not implemented"). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

function tokens(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
}

/** What {@link sendAttempt} needs besides the client and the body. */
export interface AttemptOptions {
  /** Abort after this long without an answer, ms (counted from when the request may go: after its gate, if any). */
  timeoutMs: number;
  /** The coordinator's close. */
  signal: AbortSignal;
  /** Prompt/completion tokens to report when the response has no `usage`. */
  estimate: { promptTokens: number; completionTokens: number };
}

/**
 * Sends `body` with `client`, aborting after `timeoutMs` (ms) or when `signal` aborts.
 * @throws the abort reason when `signal` (the coordinator's close) aborted the attempt; never for HTTP statuses.
 */
export async function sendAttempt(client: ModelClient, body: ChatBody, o: AttemptOptions): Promise<AttemptOutcome> {
  const outcome = await attempt(client, body, o, undefined);
  if (outcome.kind === 'not_sent') throw new Error('an ungated model request was not sent');
  return outcome;
}

/**
 * {@link sendAttempt} for a request built now and sent only when `gate` resolves `true` (admission-gate.ts).
 * @returns `{ kind: 'not_sent' }` when the gate closed: nothing left the process.
 * @throws the abort reason when `signal` (the coordinator's close) aborted the attempt.
 */
export function sendGatedAttempt(client: ModelClient, body: ChatBody, o: AttemptOptions, gate: Promise<boolean>): Promise<AttemptOutcome | { kind: 'not_sent' }> {
  return attempt(client, body, o, gate);
}

async function attempt(client: ModelClient, body: ChatBody, o: AttemptOptions, gate: Promise<boolean> | undefined): Promise<AttemptOutcome | { kind: 'not_sent' }> {
  if (o.signal.aborted) throw o.signal.reason;
  let started = Date.now();
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const startTimer = (): void => {
    started = Date.now();
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
  };
  if (gate) {
    gateRequest(controller.signal, gate);
    gate.then((open) => open && !controller.signal.aborted && startTimer(), () => undefined);
  } else {
    startTimer();
  }
  const onClose = (): void => controller.abort(o.signal.reason);
  o.signal.addEventListener('abort', onClose, { once: true });
  try {
    const res = await client.path('/chat/completions').post({ body, abortSignal: controller.signal, ...(gate ? { headers: { [GATED_HEADER]: '1' } } : {}) });
    const durationMs = Date.now() - started;
    const headers = lowerHeaders(res.headers);
    const status = Number(res.status);
    if (isUnexpected(res)) {
      const { code, message } = errorDetails(res.body, headers, status);
      return { kind: isRetryableStatus(status) ? 'retryable' : 'terminal', status, code, message, headers, durationMs };
    }
    const choice = Array.isArray(res.body?.choices) ? res.body.choices[0] : undefined;
    if (!choice || typeof choice.message !== 'object' || choice.message === null) {
      return { kind: 'terminal', status, code: 'invalid_model_response', message: 'the response has no choices[0].message', headers, durationMs };
    }
    const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
    if (finishReason === 'content_filter') {
      return { kind: 'terminal', status, code: 'content_filtered', message: 'the answer was withheld by the content filter', headers, durationMs };
    }
    const usage: unknown = res.body.usage;
    const u = usage && typeof usage === 'object' ? (usage as Record<string, unknown>) : {};
    const promptTokens = tokens(u.prompt_tokens);
    const completionTokens = tokens(u.completion_tokens);
    const content = typeof choice.message.content === 'string' ? choice.message.content : '';
    return {
      kind: 'ok',
      content,
      finishReason,
      promptTokens: promptTokens ?? o.estimate.promptTokens,
      completionTokens: completionTokens ?? o.estimate.completionTokens,
      usageReported: promptTokens !== undefined && completionTokens !== undefined,
      headers,
      durationMs,
    };
  } catch (err) {
    const durationMs = Date.now() - started;
    if (o.signal.aborted) throw o.signal.reason ?? err;
    if (err instanceof NotSentError) return { kind: 'not_sent' };
    if (timedOut) return { kind: 'retryable', code: 'timeout', message: `no response within ${o.timeoutMs} ms`, headers: {}, durationMs };
    const name = err instanceof Error ? err.name : '';
    const text = err instanceof Error ? err.message : String(err);
    if (name === 'CredentialUnavailableError' || name === 'AuthenticationError' || name === 'AuthenticationRequiredError') {
      return { kind: 'terminal', code: 'credential_failed', message: `${name}: ${text}`.slice(0, 300), headers: {}, durationMs };
    }
    const errno = err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : 'transport';
    return { kind: 'retryable', code: errno === 'undefined' ? 'transport' : errno, message: text.slice(0, 300), headers: {}, durationMs };
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onClose);
  }
}
