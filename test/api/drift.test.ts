/**
 * GET /v1/drift: the reconciler's latest report from Redis, 404 no_report before the first one, and the 500 path
 * (a corrupt stored report) showing a generic message to the client and the full error only in the log.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { driftReportKey } from '../../services/api/drift-reports.ts';
import { dataOf, errorOf, startApiHarness, type ApiHarness } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-drift');
const admin = await h.token('admin');
/** A separate connection, standing in for the reconciler that writes reports. */
const reconciler = new Redis(h.stack.redisUrl);
const key = driftReportKey(h.config.REDIS_KEY_PREFIX);

const drift = suite('GET /v1/drift');

drift('404 no_report before the reconciler wrote one', async () => {
  const r = await h.call('GET', '/v1/drift', { token: admin });
  assert.is(r.status, 404);
  assert.is(errorOf(r).code, 'no_report');
});

drift('returns the latest report as written, in the envelope', async () => {
  const report = { environment: 'dev', generatedAt: '2026-11-29T12:00:00.000Z', drifts: [{ resource: 'ecs:service/api', path: '/autoscaling/max', desired: 20, actual: 10, action: 'update' }] };
  await reconciler.set(key, JSON.stringify(report));
  const r = await h.call('GET', '/v1/drift', { token: admin });
  assert.is(r.status, 200);
  assert.equal(dataOf(r), report);
});

drift('a corrupt stored report is 500 internal_error with a generic message; the log has the cause and the requestId', async () => {
  await reconciler.set(key, '{not json');
  const r = await h.call('GET', '/v1/drift', { token: admin, headers: { 'x-request-id': 'corrupt-report' } });
  assert.is(r.status, 500);
  const e = errorOf(r);
  assert.is(e.code, 'internal_error');
  assert.is(e.requestId, 'corrupt-report');
  assert.not.match(r.text, /drift:latest|not JSON|Unexpected/);
  const logged = await h.waitForLog((l) => l.msg === 'request failed' && l.requestId === 'corrupt-report');
  assert.match(JSON.stringify(logged.err), /drift report at .*drift:latest is not JSON/);
});

drift.after(async () => {
  reconciler.disconnect();
  await h.close();
});

drift.run();
