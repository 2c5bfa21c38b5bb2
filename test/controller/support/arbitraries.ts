/**
 * fast-check arbitraries of desired-state documents for property tests (diff, plan, convergence): services
 * within the schema's rules (min <= max, at least one scaling target, no fixed count with autoscaling), built
 * on desired-state/dev.yml so everything the arbitrary does not vary is a real document.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseDesiredState, type DesiredState, type ServiceSpec } from '../../../services/platform/desired-state.ts';

/** desired-state/dev.yml, parsed. */
export const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});

/** A deep copy of `s` with `change` applied to it. */
export function with_<T>(s: T, change: (copy: T) => void): T {
  const copy = structuredClone(s);
  change(copy);
  return copy;
}

/** Service keys the arbitraries draw from. */
export const NAMES = ['api', 'worker', 'reconciler', 'indexer', 'thumbnailer'] as const;

const deploymentArb = fc.record(
  {
    strategy: fc.constantFrom('ROLLING' as const, 'BLUE_GREEN' as const),
    minimumHealthyPercent: fc.constantFrom(50, 100),
    maximumPercent: fc.constantFrom(150, 200),
    circuitBreaker: fc.record({ enable: fc.boolean(), rollback: fc.boolean() }),
  },
  { requiredKeys: [] },
).map((d) => (d.strategy === 'BLUE_GREEN' ? { ...d, bakeTimeMinutes: 5 } : d));

const extrasArb = fc.record(
  { deployment: deploymentArb, enableExecuteCommand: fc.boolean() },
  { requiredKeys: [] },
);

/** Arbitrary service specs within the schema's rules. */
export const serviceArb: fc.Arbitrary<ServiceSpec> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 10 }), extrasArb).map(([desiredCount, extras]) => ({ desiredCount, ...extras })),
  fc
    .record({
      min: fc.integer({ min: 0, max: 10 }),
      span: fc.integer({ min: 0, max: 40 }),
      cpu: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
      requests: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
      queue: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
      cooldown: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
      cooldownOut: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
      suspended: fc.option(fc.boolean(), { nil: undefined }),
      extras: extrasArb,
    })
    .map((r) => ({
      autoscaling: {
        min: r.min,
        max: Math.max(1, r.min + r.span),
        ...(r.cpu === undefined && r.requests === undefined && r.queue === undefined ? { targetCpuPercent: 50 } : {}),
        ...(r.cpu !== undefined ? { targetCpuPercent: r.cpu } : {}),
        ...(r.requests !== undefined ? { targetRequestsPerTarget: r.requests } : {}),
        ...(r.queue !== undefined ? { targetQueueDepthPerTask: r.queue } : {}),
        ...(r.cooldown !== undefined ? { scaleInCooldownSec: r.cooldown } : {}),
        ...(r.cooldownOut !== undefined ? { scaleOutCooldownSec: r.cooldownOut } : {}),
        ...(r.suspended !== undefined ? { suspended: r.suspended } : {}),
      },
      ...r.extras,
    })),
);

/** Arbitrary documents: 1–5 services, enforce or observe mode, everything else from dev.yml. */
export const desiredArb: fc.Arbitrary<DesiredState> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...NAMES), serviceArb), { minLength: 1, maxLength: 5, selector: ([n]) => n })
  .chain((entries) =>
    fc.constantFrom('enforce' as const, 'observe' as const).map((mode) =>
      with_(DEV, (d) => {
        d.spec.management.mode = mode;
        d.spec.ecs.services = Object.fromEntries(entries);
      }),
    ),
  );
