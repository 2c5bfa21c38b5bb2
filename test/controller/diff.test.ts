import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseDesiredState, type DesiredState } from '../../services/platform/desired-state.ts';
import { diff } from '../../controller/diff/diff.ts';
import { applyIgnore, ignoreMatches } from '../../controller/diff/ignore.ts';
import { cpuUnits, memoryMiB } from '../../controller/diff/normalize.ts';
import type { Drift, ObservedServiceState, ObservedState } from '../../controller/types.ts';
import { observedMatching } from './support/observed.ts';
import { desiredArb, with_ } from './support/arbitraries.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
const PROD = parseDesiredState(readFileSync('desired-state/production.yml', 'utf8'), 'desired-state/production.yml', {});

/** Shorthand view of drift for table rows. */
function brief(drifts: Drift[]): string[] {
  return drifts.map((d) => `${d.action} ${d.resource} ${d.field}: ${JSON.stringify(d.actual)} -> ${JSON.stringify(d.desired)} @ ${d.path}`);
}

function svc(o: ObservedState, key: string): ObservedServiceState {
  return o.services[key]!;
}

const rules = suite('diff(desired, observed): one row per rule');

rules('equal states give no drift', () => {
  assert.equal(diff(DEV, observedMatching(DEV)), []);
  assert.equal(diff(PROD, observedMatching(PROD)), []);
});

rules('an autoscaled service whose live desiredCount differs from min is not drift', () => {
  const o = with_(observedMatching(DEV), (x) => {
    svc(x, 'worker').service!.desiredCount = 17;
    svc(x, 'api').service!.desiredCount = 0;
  });
  assert.equal(diff(DEV, o), []);
});

rules('a changed scalable-target max is one update at the document path of max', () => {
  const o = with_(observedMatching(DEV), (x) => (svc(x, 'worker').scalableTarget!.maxCapacity = 10));
  const drifts = diff(DEV, o);
  assert.equal(brief(drifts), ['update scalable-target/worker maxCapacity: 10 -> 4 @ /spec/ecs/services/worker/autoscaling/max']);
  assert.is(drifts[0]!.reason, 'live maxCapacity is 10, desired 4');
  assert.is(drifts[0]!.service, 'worker');
});

rules('a fixed-count service compares desiredCount', () => {
  const o = with_(observedMatching(DEV), (x) => (svc(x, 'reconciler').service!.desiredCount = 3));
  assert.equal(brief(diff(DEV, o)), ['update ecs-service/reconciler desiredCount: 3 -> 1 @ /spec/ecs/services/reconciler/desiredCount']);
});

rules('a fixed-count service with a registered scalable target: count not compared, one uncorrectable drift', () => {
  const o = with_(observedMatching(DEV), (x) => {
    svc(x, 'reconciler').service!.desiredCount = 3;
    svc(x, 'reconciler').scalableTarget = { resourceId: 'service/c/r', minCapacity: 1, maxCapacity: 3, suspended: {} };
  });
  assert.equal(brief(diff(DEV, o)), ['none scalable-target/reconciler scalableTarget: "registered" -> null @ /spec/ecs/services/reconciler/desiredCount']);
});

rules('a missing service is drift the reconciler cannot correct', () => {
  const o = with_(observedMatching(DEV), (x) => (x.services.reconciler = { policies: [] }));
  const drifts = diff(DEV, o);
  assert.equal(brief(drifts), ['none ecs-service/reconciler service: null -> "present" @ /spec/ecs/services/reconciler']);
  assert.match(drifts[0]!.reason, /created by copilot svc deploy/);
});

rules('a missing scalable target is created, and its policies too (except the ALB one, which needs a ResourceLabel)', () => {
  const o = with_(observedMatching(DEV), (x) => {
    delete svc(x, 'api').scalableTarget;
    svc(x, 'api').policies = [];
  });
  assert.equal(
    diff(DEV, o).map((d) => `${d.action} ${d.resource}`),
    ['create scalable-target/api', 'create scaling-policy/api/ct-cpu-target', 'none scaling-policy/api/ct-requests-target'],
  );
});

rules('a policy is matched by its metric, not its name: a Copilot-named CPU policy is updated under its own name', () => {
  const o = with_(observedMatching(DEV), (x) => (svc(x, 'api').policies[0]!.targetValue = 50));
  const drifts = diff(DEV, o);
  assert.equal(brief(drifts), [
    'update scaling-policy/api/content-trends-dev-api-Service-ABC123-AutoScalingPolicyECSServiceAverageCPUUtilization-X1 TargetValue: 50 -> 60 @ /spec/ecs/services/api/autoscaling/targetCpuPercent',
  ]);
});

rules('a policy without cooldowns is compared with the Application Auto Scaling default (300 s)', () => {
  const o = with_(observedMatching(DEV), (x) => {
    const p = svc(x, 'worker').policies.find((q) => q.name === 'ct-queue-depth-target')!;
    delete p.scaleInCooldownSec;
    delete p.scaleOutCooldownSec;
  });
  assert.equal(brief(diff(DEV, o)), [
    'update scaling-policy/worker/ct-queue-depth-target ScaleInCooldown: 300 -> 120 @ /spec/ecs/services/worker/autoscaling/scaleInCooldownSec',
    'update scaling-policy/worker/ct-queue-depth-target ScaleOutCooldown: 300 -> 60 @ /spec/ecs/services/worker/autoscaling/scaleOutCooldownSec',
  ]);
});

rules('custom metric dimensions are a set (order ignored); another statistic is drift', () => {
  const reordered = with_(observedMatching(DEV), (x) => {
    const m = svc(x, 'worker').policies.find((q) => q.name === 'ct-queue-depth-target')!.metric;
    if (m.kind === 'customized') m.dimensions.reverse();
  });
  assert.equal(diff(DEV, reordered), []);
  const sum = with_(observedMatching(DEV), (x) => {
    const m = svc(x, 'worker').policies.find((q) => q.name === 'ct-queue-depth-target')!.metric;
    if (m.kind === 'customized') m.statistic = 'Sum';
  });
  assert.equal(diff(DEV, sum).map((d) => `${d.resource} ${d.field}`), ['scaling-policy/worker/ct-queue-depth-target CustomizedMetricSpecification']);
});

rules('scale-in disabled on a live policy is drift', () => {
  const o = with_(observedMatching(DEV), (x) => (svc(x, 'worker').policies[0]!.disableScaleIn = true));
  assert.equal(diff(DEV, o).map((d) => `${d.field} ${String(d.actual)} -> ${String(d.desired)}`), ['DisableScaleIn true -> false']);
});

rules('ECS server defaults are explicit: omitted deployment fields equal 100 / 200 / breaker off', () => {
  const desired = with_(DEV, (d) => (d.spec.ecs.services.worker!.deployment = { minimumHealthyPercent: 100, maximumPercent: 200, circuitBreaker: { enable: false, rollback: false } }));
  const o = with_(observedMatching(desired), (x) => (svc(x, 'worker').service!.deployment = {}));
  assert.equal(diff(desired, o), []);
});

rules('BLUE_GREEN wanted, ROLLING live: strategy and bake time drift', () => {
  const o = with_(observedMatching(PROD), (x) => (svc(x, 'api').service!.deployment = { strategy: 'ROLLING', minimumHealthyPercent: 100, maximumPercent: 200, circuitBreaker: { enable: true, rollback: true } }));
  assert.equal(brief(diff(PROD, o)), [
    'update ecs-service/api deploymentConfiguration.bakeTimeInMinutes: null -> 10 @ /spec/ecs/services/api/deployment/bakeTimeMinutes',
    'update ecs-service/api deploymentConfiguration.strategy: "ROLLING" -> "BLUE_GREEN" @ /spec/ecs/services/api/deployment/strategy',
  ]);
});

rules('task definitions are observe-only: drift with action none', () => {
  const o = with_(observedMatching(DEV), (x) => (svc(x, 'worker').service!.taskDefinition = { cpu: 512, memory: 2048 }));
  const drifts = diff(DEV, o);
  assert.equal(brief(drifts), ['none task-definition/worker cpu: 512 -> 1024 @ /spec/ecs/services/worker/taskDefinition/cpu']);
  assert.match(drifts[0]!.reason, /^observe only/);
});

rules('observe mode turns every action into none and says what it would do', () => {
  const desired = with_(DEV, (d) => (d.spec.management.mode = 'observe'));
  const o = with_(observedMatching(desired), (x) => (svc(x, 'worker').scalableTarget!.maxCapacity = 10));
  const drifts = diff(desired, o);
  assert.equal(drifts.map((d) => d.action), ['none']);
  assert.is(drifts[0]!.reason, 'observe mode, would update: live maxCapacity is 10, desired 4');
});

rules('a service-level mode overrides the document mode', () => {
  const desired = with_(DEV, (d) => (d.spec.ecs.services.worker!.mode = 'observe'));
  const o = with_(observedMatching(desired), (x) => {
    svc(x, 'worker').scalableTarget!.maxCapacity = 10;
    svc(x, 'api').scalableTarget!.maxCapacity = 10;
  });
  assert.equal(diff(desired, o).map((d) => `${d.service} ${d.action}`), ['api update', 'worker none']);
});

rules('a service whose observation failed produces no drift (the report shows the error)', () => {
  const o = with_(observedMatching(DEV), (x) => {
    svc(x, 'worker').scalableTarget!.maxCapacity = 10;
    svc(x, 'worker').error = 'discovery is ambiguous';
  });
  assert.equal(diff(DEV, o), []);
});

rules('ignore: a pattern drops drift at or under its path; * matches one segment', () => {
  const o = with_(observedMatching(DEV), (x) => {
    svc(x, 'worker').scalableTarget!.maxCapacity = 10;
    svc(x, 'api').scalableTarget!.maxCapacity = 10;
    svc(x, 'reconciler').service!.desiredCount = 2;
  });
  assert.equal(diff(DEV, o, { ignore: ['/spec/ecs/services/*/autoscaling/max'] }).map((d) => d.resource), ['ecs-service/reconciler']);
  assert.equal(diff(DEV, o, { ignore: ['/spec/ecs/services/worker'] }).map((d) => d.resource), ['scalable-target/api', 'ecs-service/reconciler']);
  const split = applyIgnore(diff(DEV, o), ['/spec/ecs/services/api/autoscaling']);
  assert.equal([split.kept.length, split.ignored.length], [2, 1]);
  assert.ok(ignoreMatches('/spec/ecs', '/spec/ecs/services/api'));
  assert.not.ok(ignoreMatches('/spec/ecs/services/api/autoscaling/max', '/spec/ecs/services/api/autoscaling'));
  assert.not.ok(ignoreMatches('/spec/ecs/services/ap', '/spec/ecs/services/api'));
});

rules('task-definition sizes in any ECS spelling become numbers', () => {
  assert.equal([cpuUnits('256'), cpuUnits('0.25 vCPU'), cpuUnits('1 vcpu'), cpuUnits('x'), cpuUnits(undefined)], [256, 256, 1024, undefined, undefined]);
  assert.equal([memoryMiB('512'), memoryMiB('1 GB'), memoryMiB('2GB'), memoryMiB('3072 MiB')], [512, 1024, 2048, 3072]);
});

const props = suite('diff properties (fast-check)');

/** Random live changes (none of which touch a live desiredCount of an autoscaled service). */
function mutate(o: ObservedState, seed: number[]): ObservedState {
  return with_(o, (x) => {
    const keys = Object.keys(x.services).sort();
    seed.forEach((n, i) => {
      const s = x.services[keys[n % keys.length]!]!;
      if (i % 3 === 0 && s.scalableTarget) s.scalableTarget.maxCapacity += 1 + (n % 5);
      else if (i % 3 === 1 && s.policies[0]) s.policies[0].targetValue = (s.policies[0].targetValue ?? 0) + 1;
      else if (s.service && !s.scalableTarget) s.service.desiredCount += 1;
    });
  });
}

/** The same data with every key order and list order shuffled (Fisher–Yates driven by a seeded LCG). */
function shuffled(desired: DesiredState, o: ObservedState, seed: number): { desired: DesiredState; observed: ObservedState } {
  let state = seed >>> 0;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % bound;
  };
  const shuffle = <T>(xs: T[]): T[] => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  const d = with_(desired, (x) => (x.spec.ecs.services = Object.fromEntries(shuffle(Object.entries(x.spec.ecs.services)))));
  const obs = with_(o, (x) => {
    x.services = Object.fromEntries(shuffle(Object.entries(x.services)));
    for (const s of Object.values(x.services)) s.policies = shuffle(s.policies);
  });
  return { desired: d, observed: obs };
}

props('diff of a desired state and its matching live state is empty', () => {
  fc.assert(fc.property(desiredArb, (desired) => diff(desired, observedMatching(desired)).length === 0), { numRuns: 200 });
});

props('live desiredCount of autoscaled services never matters', () => {
  fc.assert(
    fc.property(desiredArb, fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 5, maxLength: 5 }), (desired, counts) => {
      const o = with_(observedMatching(desired), (x) => {
        Object.entries(x.services).forEach(([k, s], i) => {
          if (desired.spec.ecs.services[k]?.autoscaling && s.service) s.service.desiredCount = counts[i % counts.length]!;
        });
      });
      return diff(desired, o).length === 0;
    }),
    { numRuns: 200 },
  );
});

props('diff is stable under reordering of services and policies', () => {
  fc.assert(
    fc.property(desiredArb, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.nat(), (desired, seed, shuffleSeed) => {
      const observed = mutate(observedMatching(desired), seed);
      const expected = diff(desired, observed);
      const s = shuffled(desired, observed, shuffleSeed);
      assert.equal(diff(s.desired, s.observed), expected);
      assert.equal(diff(desired, observed), expected); // and the same input twice gives the same output
    }),
    { numRuns: 200 },
  );
});

props('the mutations used above do produce drift (so the reordering property is not vacuous)', () => {
  const observed = mutate(observedMatching(DEV), [0, 1, 2, 3]);
  assert.ok(diff(DEV, observed).length >= 2);
});

props.run();
rules.run();
