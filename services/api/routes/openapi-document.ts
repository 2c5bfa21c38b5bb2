/**
 * `GET /v1/openapi.json`: the API's OpenAPI 3.1 document as JSON, inside the usual `{ data }` envelope. It needs a
 * bearer token like every `/v1` route (no scope), so the contract is visible to clients but not to the internet.
 */
import type { ApiRouter } from '../context.ts';
import { respond } from '../envelope.ts';
import type { OpenApiDocument } from '../openapi.ts';

/** Mounts the document route. */
export function mountOpenApiRoute(router: ApiRouter, document: OpenApiDocument): void {
  router.get('getOpenApiDocument', '/v1/openapi.json', (ctx) => {
    respond(ctx, document);
  });
}
