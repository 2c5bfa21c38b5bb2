/**
 * How many header lines a request sent for one header. Node keeps only the first of repeated singleton headers
 * (`authorization`, `content-type`, … are in its "duplicates are discarded" list: Node.js docs, `message.headers`),
 * so a request carrying two credentials or two media types would be judged on whichever came first. RFC 9110 §5.3:
 * a sender must not repeat a header that is not a list; the API refuses such requests instead of guessing.
 */
import type { IncomingMessage } from 'node:http';

/**
 * Lines of header `lowerName` (lower case) in `req.rawHeaders`, without building any string for the other headers.
 * @returns 0 when absent.
 */
export function headerLineCount(req: IncomingMessage, lowerName: string): number {
  const raw = req.rawHeaders;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) n++;
  }
  return n;
}
