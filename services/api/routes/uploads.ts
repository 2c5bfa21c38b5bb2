/** `POST /v1/uploads`: a presigned PUT URL for one video (scope `analyses:write`). */
import type { ApiRouter } from '../context.ts';
import { respond } from '../envelope.ts';
import { principalOf, requireScope } from '../middleware/auth.ts';
import type { RequestValidators } from '../openapi.ts';
import { presignUpload, type PresignUploadDeps, type UploadRequest } from '../operations/presign-upload.ts';

/** Mounts the uploads route. */
export function mountUploadRoutes(router: ApiRouter, validators: RequestValidators, deps: PresignUploadDeps): void {
  const validate = validators.validator<{ body: UploadRequest }>('createUpload');
  router.post('createUpload', '/v1/uploads', requireScope('analyses:write'), async (ctx) => {
    const { body } = validate(ctx);
    respond(ctx, await presignUpload(deps, principalOf(ctx), body));
  });
}
