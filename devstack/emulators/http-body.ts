/**
 * Request-body reading shared by the emulators: collects the body up to a byte limit so a runaway client cannot
 * exhaust memory, and sleeps that end early when an emulator closes.
 */
import type { IncomingMessage } from 'node:http';

/** Thrown by {@link readBody} when the body is longer than `maxBytes`. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`request body is larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads the whole request body.
 * @param maxBytes largest accepted body in bytes.
 * @throws BodyTooLargeError when the body (or its `content-length`) exceeds `maxBytes`; the rest is drained.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new BodyTooLargeError(maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > maxBytes) {
      req.resume();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (the emulator is closing). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
