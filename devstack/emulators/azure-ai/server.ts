/**
 * The Azure AI model inference emulator's HTTP server. Routes (reference/azure-ai-inference.md §1) are served both
 * at `/` (serverless endpoint shape) and under `/models` (Foundry shape, the `endpoint` given to `ModelClient`):
 * `GET /info` and `POST /chat/completions`. Every request needs an `api-version` query parameter
 * (`2025-04-01` or `2024-05-01-preview`) and a credential: an `api-key` header or `Authorization: Bearer <token>`
 * (a key credential sends both). Answers are deterministic (./answer-composer.ts); quotas, throttling, server
 * errors and latency follow ./rate-limits.ts and ./faults.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBody, sleep } from '../http-body.ts';
import { AiHttpError, badRequest, errorBody, type ErrorShape } from './error-bodies.ts';
import { normaliseModels, type AiModel, type AiModelConfig } from './models.ts';
import { ModelQuota } from './rate-limits.ts';
import { createAiFaults, type AiFaults } from './faults.ts';
import { createCallLog, type AiCallLog, type AiCallRecord } from './call-log.ts';
import { handleChat } from './chat-handler.ts';

/** api-versions the emulator accepts (the two the model inference spec defines). */
export const SUPPORTED_API_VERSIONS = ['2025-04-01', '2024-05-01-preview'] as const;

/** Options of {@link startAiEmulator}. */
export interface AiEmulatorOptions {
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** The deployments served; the first is the default for the serverless route and `GET /info`. */
  models: AiModelConfig[];
  /** Accepted `api-key` values (also accepted as Bearer tokens). */
  apiKeys?: string[];
  /** Accepted `Authorization: Bearer` tokens. When neither list is given, any non-empty credential is accepted. */
  bearerTokens?: string[];
  /** Delay added to every answer, in ms. @defaultValue 0 */
  latencyMs?: number;
  /** Body shape of error answers. @defaultValue 'nested' */
  errorShape?: ErrorShape;
  /** Largest accepted request body in bytes. @defaultValue 20971520 (20 MiB) */
  maxBodyBytes?: number;
}

/** A running AI emulator. */
export interface AiEmulator {
  /** `http://<host>:<port>/models`: the Foundry-shaped endpoint for `ModelClient`. */
  endpoint: string;
  /** `http://<host>:<port>`: the serverless-shaped endpoint (one model, `model` optional). */
  baseUrl: string;
  /** The models served, with defaults applied. */
  models: readonly AiModel[];
  /** Requests received. */
  calls: AiCallLog;
  /** Fault injection. */
  faults: AiFaults;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

/** Per-request context shared with the chat handler. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  base: '' | '/models';
  apiVersion: string;
  body: Buffer;
  record: AiCallRecord;
}

/**
 * Starts the emulator on a loopback port.
 * @throws ValidationError for a bad model list; Error when the port cannot be bound.
 */
export async function startAiEmulator(opts: AiEmulatorOptions): Promise<AiEmulator> {
  const models = normaliseModels(opts.models);
  const shape = opts.errorShape ?? 'nested';
  const quotas = new Map(models.map((m) => [m.name, new ModelQuota(m.requestsPerMinute, m.tokensPerMinute)]));
  const faults = createAiFaults(opts.latencyMs ?? 0);
  const calls = createCallLog();
  const closing = new AbortController();
  const maxBodyBytes = opts.maxBodyBytes ?? 20 * 1024 * 1024;

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  function sendError(ctx: { res: ServerResponse; record: AiCallRecord }, e: AiHttpError, errShape: ErrorShape = shape): void {
    ctx.record.status = e.status;
    ctx.record.errorCode = e.code;
    sendJson(ctx.res, e.status, errorBody(e, errShape), { 'x-ms-error-code': e.code, ...(e.extra.headers ?? {}) });
  }

  function authorised(req: IncomingMessage): boolean {
    const key = typeof req.headers['api-key'] === 'string' ? req.headers['api-key'] : undefined;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!opts.apiKeys && !opts.bearerTokens) return Boolean(key || bearer);
    if (key !== undefined && opts.apiKeys?.includes(key)) return true;
    return bearer !== undefined && Boolean(opts.bearerTokens?.includes(bearer) || opts.apiKeys?.includes(bearer));
  }

  function findModel(name: string): AiModel {
    const m = models.find((x) => x.name === name);
    if (!m) throw new AiHttpError(404, 'unknown_model', `Unknown model: ${name}`, { details: `Unknown model: ${name}` });
    return m;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const base: '' | '/models' = url.pathname === '/models' || url.pathname.startsWith('/models/') ? '/models' : '';
    const rest = url.pathname.slice(base.length);
    const route = rest === '/info' ? 'info' : rest === '/chat/completions' ? 'chat/completions' : 'unknown';
    const apiVersion = url.searchParams.get('api-version') ?? undefined;
    const record: AiCallRecord = { method: req.method ?? 'GET', route, base, status: 0, atMs: Date.now(), ...(apiVersion ? { apiVersion } : {}) };
    const ctx = { res, record };
    try {
      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (e) {
        if (e instanceof BodyTooLargeError) throw new AiHttpError(413, 'RequestEntityTooLarge', `Request body is larger than ${maxBodyBytes} bytes.`);
        throw e;
      }
      await sleep(faults.latencyMs, closing.signal);
      if (route === 'unknown') throw new AiHttpError(404, '404', 'Resource not found');
      const wanted = route === 'info' ? 'GET' : 'POST';
      if (req.method !== wanted) throw new AiHttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}; use ${wanted}.`);
      if (!authorised(req)) {
        throw new AiHttpError(401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
      }
      if (!apiVersion) throw badRequest('query.api-version', 'is required');
      if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
        throw badRequest('query.api-version', `unsupported api-version '${apiVersion}'; supported: ${SUPPORTED_API_VERSIONS.join(', ')}`);
      }
      if (route === 'info') {
        const named = url.searchParams.get('model');
        const m = named ? findModel(named) : models[0]!;
        record.model = m.name;
        record.status = 200;
        return sendJson(res, 200, { model_name: m.name, model_type: m.type, model_provider_name: m.provider });
      }
      await handleChat(
        { req, res, base, apiVersion, body, record },
        { models, quotas, faults, findModel, sendJson, sendError: (e, s) => sendError(ctx, e, s) },
      );
    } catch (e) {
      if (e instanceof AiHttpError) return sendError(ctx, e);
      sendError(ctx, new AiHttpError(500, 'InternalServerError', `Emulator error: ${e instanceof Error ? e.message : String(e)}`));
    } finally {
      calls.add(record);
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    endpoint: `${baseUrl}/models`,
    baseUrl,
    models,
    calls,
    faults: { throttle: (o) => faults.throttle(o), serverError: (o) => faults.serverError(o), latency: (ms) => faults.latency(ms), clear: () => faults.clear() },
    close: async () => {
      closing.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
