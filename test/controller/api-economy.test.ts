/**
 * DescribeScalingPolicies strategy (issue 3 point 5), against the emulator: one call per scalable target, or one
 * namespace-wide listing when the remembered policy count says it takes fewer calls; both see the same policies,
 * so drift is found either way and a matching cluster shows none.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { PutScalingPolicyCommand } from '@aws-sdk/client-application-auto-scaling';
import { startAwsEmulator, type AwsEmulator } from '../../devstack/emulators/aws/index.ts';
import { parseDesiredState } from '../../services/platform/desired-state.ts';
import { exitCodeOf, reconcile } from '../../controller/reconcile.ts';
import type { ScalingReadHints } from '../../controller/observe/scalable-targets.ts';
import { clientsFor, seedFromDesired } from './support/seed.ts';

const DEV = parseDesiredState(readFileSync('desired-state/dev.yml', 'utf8'), 'desired-state/dev.yml', {});
let emu: AwsEmulator;
let aws: ReturnType<typeof clientsFor>;
let names: Record<string, string>;

const economy = suite('API economy: scaling-policy reads');

economy.before(async () => {
  emu = await startAwsEmulator();
  aws = clientsFor(emu.endpoint);
  names = await seedFromDesired(emu.endpoint, DEV, { copilotNames: true });
});

economy.after(async () => {
  aws.ecs.destroy();
  aws.autoscaling.destroy();
  await emu.close();
});

async function plan(hints?: ScalingReadHints): Promise<{ exit: number; policyReads: number; drifts: string[] }> {
  emu.resetCalls();
  const { report } = await reconcile({ desired: DEV, source: 'dev.yml', intent: 'plan' }, { ...aws, taskDefinitions: new Map(), ...(hints ? { scalingHints: hints } : {}) });
  return { exit: exitCodeOf(report), policyReads: emu.callCount('DescribeScalingPolicies'), drifts: report.resources.flatMap((r) => r.drifts.map((d) => `${d.resource} ${d.field}`)) };
}

economy('per target without hints; namespace-wide when the remembered count makes it cheaper; same result', async () => {
  const perTarget = await plan();
  assert.equal(perTarget, { exit: 0, policyReads: 2, drifts: [] }, 'api and worker: one read each');

  const hints: ScalingReadHints = { namespacePolicies: 4 };
  const wide = await plan(hints);
  assert.equal(wide, { exit: 0, policyReads: 1, drifts: [] }, 'ceil(4/10) = 1 page < 2 targets');
  assert.is(hints.namespacePolicies, 4, 'the listing counted the namespace\'s policies (api 2 + worker 2)');

  await aws.autoscaling.send(new PutScalingPolicyCommand({
    ServiceNamespace: 'ecs', ResourceId: `service/content-trends-dev/${names.worker}`, ScalableDimension: 'ecs:service:DesiredCount', PolicyName: 'ct-queue-depth-target', PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: 8, ScaleInCooldown: 120, ScaleOutCooldown: 60,
      CustomizedMetricSpecification: { Namespace: 'ContentTrends', MetricName: 'QueueDepthPerTask', Statistic: 'Average', Dimensions: [{ Name: 'Environment', Value: 'dev' }, { Name: 'Application', Value: 'content-trends' }] },
    },
  }));
  assert.equal((await plan(hints)).drifts, ['scaling-policy/worker/ct-queue-depth-target TargetValue']);
  assert.equal((await plan()).drifts, ['scaling-policy/worker/ct-queue-depth-target TargetValue']);

  const crowded: ScalingReadHints = { namespacePolicies: 500 };
  assert.is((await plan(crowded)).policyReads, 2, 'a busy namespace (50 pages) is read per target instead');
});

economy.run();
