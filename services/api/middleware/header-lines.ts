/**
 * The values of every line a request sent for one header. Node keeps only the first of repeated singleton headers
 * (`authorization`, `content-type`, … are in its "duplicates are discarded" list: Node.js docs, `message.headers`)
 * and joins repeated unknown ones with ", ", so a request carrying two credentials, two media types or two
 * Idempotency-Keys would be judged on a guess. RFC 9110 §5.3: a sender must not repeat a header that is not a list;
 * the API refuses such requests instead (auth.ts, body.ts, openapi.ts).
 */
import type { IncomingMessage } from 'node:http';

/**
 * Values of header `lowerName` (lower case) in `req.rawHeaders`, in the order sent; `[]` when absent. Reads the raw
 * list directly, so no string is built for the other headers (this runs on every authenticated request).
 */
export function headerLines(req: IncomingMessage, lowerName: string): string[] {
  const raw = req.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) values.push(raw[i + 1]!);
  }
  return values;
}
