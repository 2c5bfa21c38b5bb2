/**
 * Seeds the ECS + Application Auto Scaling emulator with what `copilot svc deploy` creates for one environment,
 * read from the manifests in `copilot/` (overrides merged): the cluster `<app>-<env>`, one task definition and one
 * service per workload, named the way Copilot's CloudFormation names them (`<app>-<env>-<svc>-Service-<id>`) and
 * tagged `copilot-application`, `copilot-environment`, `copilot-service`; for a `count.range`, the scalable target
 * and the target-tracking policies Copilot's template declares (CPU, memory; the ALB request policy needs a load
 * balancer the emulator does not have, so it is left out), with the service's desired count at `range.min`
 * (facts: reference/copilot-manifests.md §2 and §3.1). Everything goes through the real SDK clients over HTTP.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  ApplicationAutoScalingClient, PutScalingPolicyCommand, RegisterScalableTargetCommand, type PredefinedMetricSpecification,
} from '@aws-sdk/client-application-auto-scaling';
import { environmentView, loadCopilotApp } from '../services/platform/copilot-manifests.ts';
import { parseGoDurationMs } from '../services/platform/go-duration.ts';

/** Options of {@link seedFromCopilot}. */
export interface SeedOptions {
  /** Repository root (holding `copilot/`). */
  root: string;
  /** Copilot environment name, e.g. `dev`. */
  environment: string;
  /** Emulator endpoint. */
  endpoint: string;
  region: string;
}

/** What was created. */
export interface SeedResult {
  cluster: string;
  /** Workload name → live ECS service name. */
  serviceNames: Record<string, string>;
  /** One line per created resource, for printing. */
  summary: string[];
}

interface CountRange {
  min: number;
  max: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `count.range` as `{min, max}` from `"1-4"` or `{min, max}`; undefined for a fixed count. */
function countRange(count: unknown): CountRange | undefined {
  if (!isRecord(count)) return undefined;
  const r = count.range;
  if (typeof r === 'string') {
    const m = /^(\d+)-(\d+)$/.exec(r);
    return m ? { min: Number(m[1]), max: Number(m[2]) } : undefined;
  }
  if (isRecord(r) && typeof r.min === 'number' && typeof r.max === 'number') return { min: r.min, max: r.max };
  return undefined;
}

function metricTarget(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (isRecord(v) && typeof v.value === 'number') return v.value;
  return undefined;
}

function cooldownSec(count: Record<string, unknown>, which: 'in' | 'out', fallbackSec: number): number {
  const c = count.cooldown;
  const ms = isRecord(c) && typeof c[which] === 'string' ? parseGoDurationMs(c[which]) : undefined;
  return ms === undefined ? fallbackSec : Math.round(ms / 1000);
}

/**
 * Creates the environment's cluster, task definitions, services, scalable targets and policies.
 * @throws Error when `copilot/` cannot be loaded or an SDK call fails.
 */
export async function seedFromCopilot(o: SeedOptions): Promise<SeedResult> {
  const app = loadCopilotApp(o.root);
  if (!app.application) throw new Error('copilot/.workspace names no application');
  const credentials = { accessKeyId: 'local-stand-in', secretAccessKey: 'local-stand-in' }; // the emulator accepts any
  const ecs = new ECSClient({ endpoint: o.endpoint, region: o.region, credentials });
  const aas = new ApplicationAutoScalingClient({ endpoint: o.endpoint, region: o.region, credentials });
  const cluster = `${app.application}-${o.environment}`;
  const tags = (svc: string): { key: string; value: string }[] => [
    { key: 'copilot-application', value: app.application ?? '' },
    { key: 'copilot-environment', value: o.environment },
    { key: 'copilot-service', value: svc },
  ];
  const summary: string[] = [];
  const serviceNames: Record<string, string> = {};
  await ecs.send(new CreateClusterCommand({ clusterName: cluster, tags: [{ key: 'copilot-application', value: app.application }, { key: 'copilot-environment', value: o.environment }] }));
  summary.push(`cluster ${cluster}`);

  for (const svc of app.services) {
    const { manifest } = environmentView(app, svc, o.environment);
    const family = `${app.application}-${o.environment}-${svc.name}`;
    const cpu = String(typeof manifest.cpu === 'number' ? manifest.cpu : 256);
    const memory = String(typeof manifest.memory === 'number' ? manifest.memory : 512);
    const td = await ecs.send(new RegisterTaskDefinitionCommand({
      family,
      cpu,
      memory,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      containerDefinitions: [{ name: svc.name, image: `${family}:local`, essential: true }],
    }));
    const range = countRange(manifest.count);
    const desiredCount = range ? range.min : typeof manifest.count === 'number' ? manifest.count : 1;
    const exec = manifest.exec === true || (isRecord(manifest.exec) && manifest.exec.enable === true);
    const recreate = isRecord(manifest.deployment) && manifest.deployment.rolling === 'recreate';
    const serviceName = `${family}-Service-${randomBytes(6).toString('base64url')}`;
    serviceNames[svc.name] = serviceName;
    await ecs.send(new CreateServiceCommand({
      cluster,
      serviceName,
      taskDefinition: td.taskDefinition?.taskDefinitionArn,
      desiredCount,
      launchType: 'FARGATE',
      enableExecuteCommand: exec,
      deploymentConfiguration: {
        minimumHealthyPercent: recreate ? 0 : 100,
        maximumPercent: recreate ? 100 : 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      tags: tags(svc.name),
      propagateTags: 'SERVICE',
    }));
    summary.push(`service ${serviceName} (${svc.type}; task ${cpu} CPU / ${memory} MiB; desired ${desiredCount}${exec ? '; exec on' : ''})`);

    if (range && isRecord(manifest.count)) {
      const count = manifest.count;
      const resourceId = `service/${cluster}/${serviceName}`;
      await aas.send(new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: range.min, MaxCapacity: range.max,
      }));
      summary.push(`  scalable target ${resourceId} min ${range.min} max ${range.max}`);
      const metrics: Array<[string, unknown, 'ECSServiceAverageCPUUtilization' | 'ECSServiceAverageMemoryUtilization']> = [
        ['AutoScalingPolicyECSServiceAverageCPUUtilization', count.cpu_percentage, 'ECSServiceAverageCPUUtilization'],
        ['AutoScalingPolicyECSServiceAverageMemoryUtilization', count.memory_percentage, 'ECSServiceAverageMemoryUtilization'],
      ];
      for (const [logicalId, raw, metric] of metrics) {
        const target = metricTarget(raw);
        if (target === undefined) continue;
        await putPolicy(aas, family, logicalId, resourceId, count, { PredefinedMetricType: metric }, target, summary);
      }
      const requests = metricTarget(count.requests);
      if (requests !== undefined) {
        // The ALB policy's ResourceLabel names the load balancer and target group; the emulator has no ALB, so a
        // well-formed made-up label stands in for the one Copilot's template would pass.
        const label = `app/${app.application}-${o.environment}-alb/0123456789abcdef/targetgroup/${svc.name}/fedcba9876543210`;
        await putPolicy(aas, family, 'AutoScalingPolicyALBSumRequestCountPerTarget', resourceId, count, { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: label }, requests, summary);
      }
    }
  }
  ecs.destroy();
  aas.destroy();
  return { cluster, serviceNames, summary };
}

/** Puts one target-tracking policy named the way Copilot's template names it (`<family>-<LogicalId>-<suffix>`). */
async function putPolicy(
  aas: ApplicationAutoScalingClient, family: string, logicalId: string, resourceId: string, count: Record<string, unknown>,
  metric: PredefinedMetricSpecification, target: number, summary: string[],
): Promise<void> {
  const policyName = `${family}-${logicalId}-${randomBytes(4).toString('hex').toUpperCase()}`;
  await aas.send(new PutScalingPolicyCommand({
    PolicyName: policyName,
    ServiceNamespace: 'ecs',
    ResourceId: resourceId,
    ScalableDimension: 'ecs:service:DesiredCount',
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: target,
      PredefinedMetricSpecification: metric,
      ScaleInCooldown: cooldownSec(count, 'in', 120),
      ScaleOutCooldown: cooldownSec(count, 'out', 60),
    },
  }));
  summary.push(`  policy ${policyName} (${metric.PredefinedMetricType} target ${target})`);
}
