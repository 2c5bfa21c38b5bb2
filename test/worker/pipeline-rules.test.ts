/**
 * The pipeline's pure rules: the trend-report schema and its acceptance, job-payload checks, how failures are
 * recorded (no temp paths), which errors end an analysis, and the bounded map.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnrecoverableError } from 'bullmq';
import { NotFoundError, QuotaExceededError, TerminalError, TransientError } from '../../services/platform/errors.ts';
import { BadVideoError } from '../../services/media/bad-video-error.ts';
import { acceptReport, TREND_REPORT_MODEL_SCHEMA, TREND_REPORT_SCHEMA } from '../../services/worker/trend-report.ts';
import { assertJobData, failureOf, isTerminal } from '../../services/worker/pipeline.ts';
import { mapBounded } from '../../services/worker/bounded-map.ts';
import { keyframeBlobName } from '../../services/worker/keyframe-store.ts';

function report(): Record<string, unknown> {
  return {
    summary: 'A flower in close-up.',
    topics: [{ label: 'nature', confidence: 0.9 }],
    hooks: [{ timestampSec: 0, description: 'macro opening shot' }],
    visualStyle: { description: 'shallow depth of field', tags: ['close-up'] },
    pacing: { label: 'slow', description: 'one continuous shot' },
    sentiment: { label: 'positive', score: 0.6 },
    viralityScore: { score: 42, reasons: ['calm, pretty footage'] },
    keyframeNotes: [
      { index: 1, timestampSec: 99, note: 'petals' },
      { index: 7, timestampSec: 1, note: 'unknown frame' },
      { index: 0, timestampSec: 0, note: 'bud' },
    ],
  };
}

test('acceptReport keeps notes of known keyframes, with their real times, in order', () => {
  const r = acceptReport(report(), [{ index: 0, timestampSec: 0 }, { index: 1, timestampSec: 3.003 }]);
  assert.equal(r.keyframeNotes, [{ index: 0, timestampSec: 0, note: 'bud' }, { index: 1, timestampSec: 3.003, note: 'petals' }]);
  assert.is(r.viralityScore.score, 42);
});

test('acceptReport fills the notes the model left out from the vision notes, and drops hooks outside the video', () => {
  const base = report();
  const r = acceptReport(
    { ...base, keyframeNotes: [{ index: 1, timestampSec: 0, note: 'model note' }], hooks: [{ timestampSec: 1.5, description: 'in' }, { timestampSec: 65, description: 'past the end' }] },
    [{ index: 0, timestampSec: 0, note: 'vision note 0' }, { index: 1, timestampSec: 3.003, note: 'vision note 1' }],
    5.055,
  );
  assert.equal(r.keyframeNotes, [{ index: 0, timestampSec: 0, note: 'vision note 0' }, { index: 1, timestampSec: 3.003, note: 'model note' }]);
  assert.equal(r.hooks, [{ timestampSec: 1.5, description: 'in' }]);
});

test('acceptReport refuses what the schema forbids, naming the JSON path', () => {
  const extra = { ...report(), secret: 'x' };
  assert.throws(() => acceptReport(extra, []), (e: unknown) => e instanceof TerminalError && e.code === 'invalid_model_output' && /must NOT have additional properties/.test(e.message));
  const badScore = { ...report(), viralityScore: { score: 101, reasons: ['x'] } };
  assert.throws(() => acceptReport(badScore, []), (e: unknown) => e instanceof TerminalError && /\/viralityScore\/score/.test(e.message));
  const noReasons = { ...report(), viralityScore: { score: 50, reasons: [] } };
  assert.throws(() => acceptReport(noReasons, []), /reasons/);
});

test('the schema is strict-mode ready: every object closed and fully required', () => {
  const walk = (s: unknown, path: string): void => {
    if (typeof s !== 'object' || s === null) return;
    const o = s as Record<string, unknown>;
    if (o.type === 'object') {
      assert.is(o.additionalProperties, false, `${path} is closed`);
      assert.equal([...(o.required as string[])].sort(), Object.keys(o.properties as object).sort(), `${path} requires all`);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
  };
  walk(TREND_REPORT_SCHEMA, '');
  assert.not.ok('$schema' in TREND_REPORT_MODEL_SCHEMA);
  assert.ok('properties' in TREND_REPORT_MODEL_SCHEMA);
});

test('assertJobData refuses malformed payloads', () => {
  assertJobData({ analysisId: 'an_1', tenantId: 't', videoKey: 'uploads/x.mp4', options: { maxKeyframes: 4 } });
  assert.throws(() => assertJobData({ analysisId: '', tenantId: 't' }), (e: unknown) => e instanceof UnrecoverableError && /analysisId, videoKey/.test(e.message));
  assert.throws(() => assertJobData({ analysisId: 'a', tenantId: 't', videoKey: 'k', options: { maxKeyframes: 0 } }), /options\.maxKeyframes/);
  assert.throws(() => assertJobData(null), /invalid_job/);
});

test('failures are recorded by code, without temp paths; terminal ones end the analysis', () => {
  const e = new TerminalError('corrupt_video', 'could not read file:/tmp/ct-job-an_1-abc/video: bad');
  assert.equal(failureOf(e), { code: 'corrupt_video', message: 'could not read <temp>: bad' });
  assert.equal(failureOf(new Error('boom at /var/tmp/ct-job-an_2-x/frames/kf-00001.jpg')), { code: 'internal_error', message: 'boom at <temp>' });
  assert.ok(isTerminal(new BadVideoError('not_a_video', 'x')));
  assert.ok(isTerminal(new NotFoundError('gone')));
  assert.not.ok(isTerminal(new TransientError('s3_unavailable', 'x')));
  assert.not.ok(isTerminal(new QuotaExceededError('x', 1000)));
});

test('keyframe blob names carry index and milliseconds', () => {
  assert.is(keyframeBlobName('an_1', 3, 2.3456), 'an_1/keyframe-3-2346.jpg');
});

test('mapBounded keeps order, bounds concurrency, and stops after the first failure', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, n * 3));
    inFlight--;
    return n * 10;
  });
  assert.equal(out, [50, 10, 40, 20, 30]);
  assert.is(peak, 2);
  const started: number[] = [];
  try {
    await mapBounded([1, 2, 3, 4, 5, 6], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('second fails');
      return n;
    });
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, 'second fails');
  }
  assert.equal(started, [1, 2]);
});

test.run();
