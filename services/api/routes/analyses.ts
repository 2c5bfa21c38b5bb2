/**
 * `POST /v1/analyses` (scope `analyses:write`): 202 with the new analysis and its `Location`, or 200 with the
 * analysis an earlier request with the same `Idempotency-Key` created.
 * `GET /v1/analyses` (scope `analyses:read`): the caller's tenant's analyses, newest first, one page at a time.
 * `GET /v1/analyses/:id` (scope `analyses:read`): the caller's tenant's analysis; another tenant's id is 404.
 * `DELETE /v1/analyses/:id` (scope `analyses:write`): GDPR erasure, answering with what was erased.
 */
import type { AnalysisOptions } from '../../analyses/types.ts';
import type { ApiRouter } from '../context.ts';
import { respond } from '../envelope.ts';
import { principalOf, requireScope } from '../middleware/auth.ts';
import type { RequestValidators } from '../openapi.ts';
import { eraseAnalysis, type EraseAnalysisDeps } from '../operations/erase-analysis.ts';
import { listAnalyses, type ListAnalysesQuery } from '../operations/list-analyses.ts';
import { submitAnalysis, type SubmitAnalysisDeps } from '../operations/submit-analysis.ts';

interface CreateAnalysisInput {
  body: { videoKey: string; options?: AnalysisOptions };
  header: { 'Idempotency-Key'?: string };
}

interface AnalysisIdInput {
  path: { id: string };
}

/** What the analyses routes need. */
export type AnalysisRoutesDeps = SubmitAnalysisDeps & EraseAnalysisDeps;

/** Mounts the analyses routes. */
export function mountAnalysisRoutes(router: ApiRouter, validators: RequestValidators, deps: AnalysisRoutesDeps): void {
  const validateCreate = validators.validator<CreateAnalysisInput>('createAnalysis');
  const validateList = validators.validator<{ query: ListAnalysesQuery }>('listAnalyses');
  const validateGet = validators.validator<AnalysisIdInput>('getAnalysis');
  const validateErase = validators.validator<AnalysisIdInput>('eraseAnalysis');

  router.post('createAnalysis', '/v1/analyses', requireScope('analyses:write'), async (ctx) => {
    const { body, header } = validateCreate(ctx);
    const idempotencyKey = header['Idempotency-Key'];
    const { record, created } = await submitAnalysis(deps, principalOf(ctx), {
      videoKey: body.videoKey,
      ...(body.options ? { options: body.options } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    ctx.set('Location', `/v1/analyses/${record.id}`);
    respond(ctx, record, created ? 202 : 200);
  });

  router.get('listAnalyses', '/v1/analyses', requireScope('analyses:read'), async (ctx) => {
    const { query } = validateList(ctx);
    respond(ctx, await listAnalyses(deps.store, principalOf(ctx), query));
  });

  router.get('getAnalysis', '/v1/analyses/:id', requireScope('analyses:read'), async (ctx) => {
    const { path } = validateGet(ctx);
    respond(ctx, await deps.store.getForTenant(path.id, principalOf(ctx).tenantId));
  });

  router.delete('eraseAnalysis', '/v1/analyses/:id', requireScope('analyses:write'), async (ctx) => {
    const { path } = validateErase(ctx);
    respond(ctx, await eraseAnalysis(deps, principalOf(ctx), path.id, ctx.state.log));
  });
}
