/**
 * Structured JSON logging with pino. Every process logs one JSON object per line to stdout.
 * Known secret-bearing fields (authorization headers, tokens, keys, connection strings, passwords) are
 * redacted wherever they appear up to three levels deep, so a careless `log.info({ headers })` leaks nothing.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Field names whose values are always replaced by `[redacted]`. */
export const REDACTED_FIELDS: readonly string[] = [
  'authorization', 'Authorization', 'api-key', 'apiKey', 'api_key', 'token', 'accessToken', 'access_token',
  'idToken', 'refreshToken', 'password', 'secret', 'connectionString', 'AZURE_STORAGE_CONNECTION_STRING',
  'AZURE_AI_API_KEY', 'REDIS_URL', 'cookie', 'set-cookie', 'x-identity-header', 'client_assertion',
];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const f of REDACTED_FIELDS) {
    const key = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
    const dot = key.startsWith('[') ? '' : '.';
    paths.push(key, `*${dot}${key}`, `*.*${dot}${key}`);
  }
  return paths;
}

/**
 * Creates the root logger of a process.
 * @param name the process role or tool name, added to every line as `name`.
 * @param level a pino level; `silent` for none.
 * @param destination optional stream (tests pass one to assert on redaction).
 */
export function createLogger(name: string, level: LoggerOptions['level'] = 'info', destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: { paths: redactPaths(), censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
