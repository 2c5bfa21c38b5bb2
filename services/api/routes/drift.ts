/** `GET /v1/drift` (scope `admin`): the reconciler's latest drift report, or 404 `no_report`. */
import { AppError } from '../../platform/errors.ts';
import type { ApiRouter } from '../context.ts';
import type { DriftReportReader } from '../drift-reports.ts';
import { respond } from '../envelope.ts';
import { requireScope } from '../middleware/auth.ts';

/** Mounts the drift route. */
export function mountDriftRoutes(router: ApiRouter, reports: DriftReportReader): void {
  router.get('getDriftReport', '/v1/drift', requireScope('admin'), async (ctx) => {
    const report = await reports.latest();
    if (report === undefined) throw new AppError('no_report', 'the reconciler has not written a drift report yet', 404);
    respond(ctx, report);
  });
}
