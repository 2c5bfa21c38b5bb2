/**
 * What the demo does as an API client: envelope-aware calls, a presigned upload, and polling.
 * Only the public HTTP API is used, the way the frontend would.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';

/** An error answer of the API, with its envelope fields. */
export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
  }
}

/**
 * Calls the API with a bearer token and unwraps the `{ data }` envelope.
 * @throws ApiCallError for an `{ error }` envelope.
 */
export async function apiCall<T>(base: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as { data?: T; error?: { code: string; message: string; details?: { problems?: { where: string; message: string }[] } } };
  if (!res.ok || json.error) {
    const problems = (json.error?.details?.problems ?? []).map((p) => `${p.where}: ${p.message}`);
    const message = [json.error?.message ?? res.statusText, ...problems].join('; ');
    throw new ApiCallError(res.status, json.error?.code ?? 'unknown', `${method} ${path}: ${message}`);
  }
  return json.data as T;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = { '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mov': 'video/quicktime', '.webm': 'video/webm' };

/**
 * Asks the API for a presigned S3 PUT (`POST /v1/uploads`) and uploads the file's bytes to it.
 * @returns the S3 key to analyse and the size in bytes.
 */
export async function uploadVideo(base: string, token: string, file: string): Promise<{ videoKey: string; bytes: number }> {
  const bytes = (await stat(file)).size;
  const contentType = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'video/mp4';
  const up = await apiCall<{ uploadUrl: string; videoKey: string }>(base, token, 'POST', '/v1/uploads', { contentType, bytes });
  const put = await fetch(up.uploadUrl, { method: 'PUT', headers: { 'content-type': contentType, 'content-length': String(bytes) }, body: await readFile(file) });
  if (!put.ok) throw new Error(`presigned PUT failed: ${put.status} ${await put.text()}`);
  return { videoKey: up.videoKey, bytes };
}

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value (errors count as "not yet").
 * @throws Error naming `what` after `timeoutMs`, with the last error seen.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
