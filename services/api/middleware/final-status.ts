/**
 * The status a finished request is recorded with, in the access log and in the metrics alike: the status sent, or
 * {@link CLIENT_CLOSED_REQUEST} when the client went away before any answer was sent (Koa's default 404 would be
 * read otherwise, and every client abort would count as a 404).
 */
import type { ServerResponse } from 'node:http';

/** nginx's "client closed request": no answer was sent because the client went away first. */
export const CLIENT_CLOSED_REQUEST = 499;

/** The status `res` was answered with, or 499 when nothing was sent (read it on the response's 'close'). */
export function finalStatus(res: ServerResponse): number {
  return res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
}
