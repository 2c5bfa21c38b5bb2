/**
 * The AI emulator's sliding 60-s RPM/TPM window (devstack/emulators/azure-ai/rate-limits.ts `ModelQuota`), on a
 * clock the test moves: what the `x-ratelimit-*` headers say, when a request is refused and for how long, and that a
 * long run keeps the window exact (entries leave it in order, tokens charged after admission leave with their request).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelQuota } from '../../devstack/emulators/azure-ai/rate-limits.ts';

/** A quota on a clock the test sets, ms. */
function quota(rpm: number, tpm: number): { q: ModelQuota; at(ms: number): void } {
  let now = 1_000_000;
  return { q: new ModelQuota(rpm, tpm, () => now), at: (ms) => (now = 1_000_000 + ms) };
}

test('admissions count requests and tokens; the headers say what is left', () => {
  const { q } = quota(3, 1000);
  const a = q.admit(300);
  assert.ok(a.admitted);
  assert.is(a.headers['x-ratelimit-remaining-requests'], '2');
  assert.is(a.headers['x-ratelimit-remaining-tokens'], '700');
  q.charge(50); // completion tokens learnt after admission
  assert.is(q.headers()['x-ratelimit-remaining-tokens'], '650');
});

test('a request over RPM waits until the oldest leaves the 60-s window; over TPM until enough tokens leave', () => {
  const { q, at } = quota(2, 1000);
  at(0);
  q.admit(100);
  at(10_000);
  q.admit(100);
  at(20_000);
  const overRpm = q.admit(100);
  assert.is(overRpm.admitted, false);
  assert.is(overRpm.retryAfterMs, 40_000, 'the first request leaves at 60 s');
  at(60_000);
  assert.ok(q.admit(100).admitted, 'the first request has left the window');

  const t = quota(100, 1000);
  t.at(0);
  t.q.admit(600);
  t.at(5_000);
  t.q.admit(300);
  t.at(6_000);
  const overTpm = t.q.admit(500);
  assert.is(overTpm.admitted, false);
  assert.is(overTpm.retryAfterMs, 54_000, 'the 600 tokens of the first request free enough');
  assert.is(overTpm.headers['x-ratelimit-remaining-tokens'], '100');
});

test('over a long run the window holds exactly the last 60 s of requests and their tokens', () => {
  const { q, at } = quota(1_000_000, 1_000_000_000);
  // 100 requests per second for 5 minutes, each charged 7 more tokens after admission
  for (let i = 0; i < 30_000; i++) {
    at(i * 10);
    assert.ok(q.admit(10).admitted);
    q.charge(7);
  }
  const h = q.headers(); // at 299,990 ms: requests from 240,000 ms on are in the window
  assert.is(h['x-ratelimit-remaining-requests'], String(1_000_000 - 6000));
  assert.is(h['x-ratelimit-remaining-tokens'], String(1_000_000_000 - 6000 * 17));
  at(30_000 * 10 + 60_000);
  assert.is(q.headers()['x-ratelimit-remaining-requests'], '1000000', 'everything has left the window');
  assert.is(q.headers()['x-ratelimit-remaining-tokens'], '1000000000');
});

test.run();
