/**
 * Reconciler API-economy benchmark (issue 3 point 5): 500 ECS services over 2 clusters, each with a scalable
 * target and two target-tracking policies (CPU and the queue-depth custom metric), seeded into the AWS emulator
 * (run in a child process, so the CPU time measured here is the reconciler's alone) through the real SDK; a
 * generated desired-state document per cluster names every service (temp dir, removed afterwards).
 *
 * Per pass it reports read calls against the minimum possible, computed explicitly from the API page limits
 * (reference/operator-anchors.md §8, and the emulator's documented limits):
 *   ListServices ceil(n/100) + DescribeServices ceil(n/10) + DescribeScalableTargets ceil(n/50)
 *   + DescribeScalingPolicies min(n, ceil(P/10)) (one call per target, or the namespace-wide list of all P
 *   policies, whichever is fewer) + DescribeTaskDefinition 0 (cached by ARN after the first pass);
 * CPU time (process.cpuUsage, user + system) and wall time per pass; writes at steady state (must be 0); and
 * one pass with 10 drifted services, whose writes must equal the drifted field groups (10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ApplicationAutoScalingClient, PutScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { loadDesiredState, type DesiredState } from '../services/platform/desired-state.ts';
import { reconcile } from '../controller/reconcile.ts';
import type { ApiCallEvent } from '../controller/aws/api-calls.ts';
import type { ScalingReadHints } from '../controller/observe/scalable-targets.ts';

const CLUSTERS = ['bench-a', 'bench-b'] as const;
const SERVICES_PER_CLUSTER = 250;
const POLICIES_PER_SERVICE = 2;
const STEADY_PASSES = 3;
const APP = 'content-trends';
const ENV = 'bench';
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const WRITE_OPS = new Set(['UpdateService', 'RegisterScalableTarget', 'PutScalingPolicy']);

/** Starts the AWS emulator in a child process. @returns its endpoint and the process. */
async function startEmulatorProcess(): Promise<{ endpoint: string; child: ChildProcess }> {
  const code = "const m = await import('./devstack/emulators/aws/index.ts'); const e = await m.startAwsEmulator(); console.log(e.endpoint); process.on('SIGTERM', () => e.close().then(() => process.exit(0)));";
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (c) => reject(new Error(`emulator exited ${String(c)}`)));
  });
  return { endpoint: line.trim(), child };
}

function serviceName(i: number): string {
  return `svc-${String(i).padStart(3, '0')}`;
}

/** Desired-state YAML naming every service of `cluster`. */
function desiredYaml(cluster: string): string {
  const lines = [
    'apiVersion: content-trends/v1', 'kind: DesiredState', 'metadata:', `  app: ${APP}`, `  environment: ${ENV}`, 'spec:',
    '  management:', '    mode: enforce', '    interval: 60s', '    maxWritesPerPass: 50', '  ecs:', `    cluster: ${cluster}`, '    services:',
  ];
  for (let i = 0; i < SERVICES_PER_CLUSTER; i++) {
    lines.push(
      `      ${serviceName(i)}:`,
      '        autoscaling: { min: 1, max: 4, targetCpuPercent: 60, targetQueueDepthPerTask: 4, scaleInCooldownSec: 120, scaleOutCooldownSec: 60 }',
      '        deployment: { strategy: ROLLING, minimumHealthyPercent: 100, maximumPercent: 200, circuitBreaker: { enable: true, rollback: true } }',
      '        enableExecuteCommand: false',
      '        taskDefinition: { cpu: 256, memory: 512 }',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Seeds one cluster as `copilot svc deploy` plus the reconciler would leave it (the desired state holds). */
async function seedCluster(ecs: ECSClient, aas: ApplicationAutoScalingClient, cluster: string): Promise<void> {
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const td = await ecs.send(new RegisterTaskDefinitionCommand({
    family: `${cluster}-svc`, requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '256', memory: '512',
    containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/docker/library/node:22-alpine', essential: true }],
  }));
  const one = async (i: number): Promise<void> => {
    const name = serviceName(i);
    await ecs.send(new CreateServiceCommand({
      cluster, serviceName: name, taskDefinition: td.taskDefinition?.taskDefinitionArn, launchType: 'FARGATE', desiredCount: 1,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true }, strategy: 'ROLLING' },
      enableExecuteCommand: false,
    }));
    const target = { ServiceNamespace: 'ecs' as const, ResourceId: `service/${cluster}/${name}`, ScalableDimension: 'ecs:service:DesiredCount' as const };
    await aas.send(new RegisterScalableTargetCommand({ ...target, MinCapacity: 1, MaxCapacity: 4 }));
    const cool = { ScaleInCooldown: 120, ScaleOutCooldown: 60 };
    await aas.send(new PutScalingPolicyCommand({
      ...target, PolicyName: `${name}-cpu`, PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 60, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, ...cool },
    }));
    await aas.send(new PutScalingPolicyCommand({
      ...target, PolicyName: 'ct-queue-depth-target', PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 4, ...cool,
        CustomizedMetricSpecification: {
          Namespace: 'ContentTrends', MetricName: 'QueueDepthPerTask', Statistic: 'Average',
          Dimensions: [{ Name: 'Application', Value: APP }, { Name: 'Environment', Value: ENV }],
        },
      },
    }));
  };
  for (let i = 0; i < SERVICES_PER_CLUSTER; i += 25) await Promise.all(Array.from({ length: Math.min(25, SERVICES_PER_CLUSTER - i) }, (_, k) => one(i + k)));
}

/** The minimum read calls of one pass over `n` services (each with a target) when the namespace holds `nsPolicies` policies. */
export function minimumReads(n: number, nsPolicies: number): { list: number; describe: number; targets: number; policies: number; total: number } {
  const list = Math.ceil(n / 100);
  const describe = Math.ceil(n / 10);
  const targets = Math.ceil(n / 50);
  const policies = Math.min(n, Math.ceil(nsPolicies / 10));
  return { list, describe, targets, policies, total: list + describe + targets + policies };
}

interface PassFigures {
  reads: number;
  writes: number;
  byOp: Map<string, number>;
  cpuMs: number;
  wallMs: number;
  drifts: number;
}

const hints: ScalingReadHints = {};

async function pass(desired: DesiredState, source: string, ecs: ECSClient, aas: ApplicationAutoScalingClient, cache: Map<string, { cpu?: number; memory?: number }>, intent: 'plan' | 'apply'): Promise<PassFigures> {
  const byOp = new Map<string, number>();
  const onApiCall = (e: ApiCallEvent): void => void byOp.set(e.operation, (byOp.get(e.operation) ?? 0) + 1);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { report } = await reconcile({ desired, source, intent }, { ecs, autoscaling: aas, taskDefinitions: cache, scalingHints: hints, onApiCall });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let reads = 0;
  let writes = 0;
  for (const [op, n] of byOp) (WRITE_OPS.has(op) ? (writes += n) : (reads += n));
  if (report.errors.length > 0) throw new Error(`bench pass failed: ${report.errors[0]!.message}`);
  return { reads, writes, byOp, cpuMs: (cpu.user + cpu.system) / 1000, wallMs, drifts: report.summary.drifts };
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
}

/** Runs the benchmark and prints its table. */
export async function benchReconciler(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ct-bench-reconciler-'));
  const { endpoint, child } = await startEmulatorProcess();
  const ecs = new ECSClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  const aas = new ApplicationAutoScalingClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  try {
    const seedStart = performance.now();
    for (const c of CLUSTERS) await seedCluster(ecs, aas, c);
    console.log(`seeded ${CLUSTERS.length * SERVICES_PER_CLUSTER} services, ${CLUSTERS.length * SERVICES_PER_CLUSTER} scalable targets, ${CLUSTERS.length * SERVICES_PER_CLUSTER * POLICIES_PER_SERVICE} policies over ${CLUSTERS.length} clusters in ${Math.round(performance.now() - seedStart)} ms`);
    const docs: { cluster: string; desired: DesiredState; source: string }[] = [];
    for (const c of CLUSTERS) {
      const source = join(dir, `${c}.yml`);
      await writeFile(source, desiredYaml(c));
      docs.push({ cluster: c, desired: await loadDesiredState(source, {}), source });
    }
    const nsPolicies = CLUSTERS.length * SERVICES_PER_CLUSTER * POLICIES_PER_SERVICE;
    const min = minimumReads(SERVICES_PER_CLUSTER, nsPolicies);
    const cache = new Map<string, { cpu?: number; memory?: number }>();

    const widths = [24, 8, 8, 7, 7, 9, 9, 7];
    console.log(`\nminimum reads per cluster pass (n=${SERVICES_PER_CLUSTER}): ListServices ${min.list} + DescribeServices ${min.describe} + DescribeScalableTargets ${min.targets} + DescribeScalingPolicies ${min.policies} (min(${SERVICES_PER_CLUSTER} per target, ceil(${nsPolicies}/10) namespace-wide)) = ${min.total}`);
    console.log(row(['pass', 'reads', 'minimum', 'ratio', 'writes', 'cpu ms', 'wall ms', 'drifts'], widths));
    const steady: PassFigures[] = [];
    for (let p = 0; p <= STEADY_PASSES; p++) {
      for (const d of docs) {
        const f = await pass(d.desired, d.source, ecs, aas, cache, 'apply');
        if (p > 0) steady.push(f);
        console.log(row([`${p === 0 ? 'cold' : `steady ${p}`} ${d.cluster}`, f.reads, min.total, (f.reads / min.total).toFixed(2), f.writes, Math.round(f.cpuMs), Math.round(f.wallMs), f.drifts], widths));
      }
    }
    const last = steady.at(-1)!;
    console.log(`reads by operation (steady pass): ${[...last.byOp].map(([op, n]) => `${op} ${n}`).join(', ')}`);
    const steadyWrites = steady.reduce((s, f) => s + f.writes, 0);
    console.log(`steady-state writes: ${steadyWrites} (must be 0)${steadyWrites === 0 ? '' : '  <-- FAIL'}`);

    // 10 drifted services in cluster A, one field group each: 4 scalable targets, 3 services (exec), 3 policies.
    const a = docs[0]!;
    for (let i = 0; i < 4; i++) await aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: `service/${a.cluster}/${serviceName(i)}`, ScalableDimension: 'ecs:service:DesiredCount', MaxCapacity: 9 }));
    for (let i = 4; i < 7; i++) await ecs.send(new UpdateServiceCommand({ cluster: a.cluster, service: serviceName(i), enableExecuteCommand: true }));
    for (let i = 7; i < 10; i++) {
      await aas.send(new PutScalingPolicyCommand({
        ServiceNamespace: 'ecs', ResourceId: `service/${a.cluster}/${serviceName(i)}`, ScalableDimension: 'ecs:service:DesiredCount', PolicyName: `${serviceName(i)}-cpu`, PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: { TargetValue: 80, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, ScaleInCooldown: 120, ScaleOutCooldown: 60 },
      }));
    }
    const drifted = await pass(a.desired, a.source, ecs, aas, cache, 'apply');
    console.log(row([`10 drifted ${a.cluster}`, drifted.reads, min.total, (drifted.reads / min.total).toFixed(2), drifted.writes, Math.round(drifted.cpuMs), Math.round(drifted.wallMs), drifted.drifts], widths));
    console.log(`writes with 10 drifted field groups: ${drifted.writes} (expected 10)${drifted.writes === 10 ? '' : '  <-- FAIL'}`);
    const after = await pass(a.desired, a.source, ecs, aas, cache, 'plan');
    console.log(`next plan after the corrections: ${after.drifts} drift items, ${after.writes} writes`);
  } finally {
    ecs.destroy();
    aas.destroy();
    child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bench/reconciler.ts')) await benchReconciler();
