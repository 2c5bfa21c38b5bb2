/**
 * The setup the reconciler's CloudWatch metric tests share (queue-metric, reconcile-errors-metric): the test
 * stack with the AWS emulator, seeded from a desired state the way `copilot svc deploy` leaves it (Copilot-style
 * service names), a CloudWatch client on the emulator, and reconciler replicas wired like controller/main.ts
 * (own Redis connection and SDK clients, leader lease, report history of 3, pass-metrics publisher), with the
 * reconcile and PutMetricData retries shortened to 1–4 ms; and one pass run under an injected emulator fault.
 * `close()` frees every client and connection it made and stops the stack; it does not stop the replicas' loops
 * (each test stops its own).
 */
import { Redis } from 'ioredis';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DesiredState } from '../../../services/platform/desired-state.ts';
import { LeaderLock } from '../../../controller/leader-lock.ts';
import { ReconcileLoop } from '../../../controller/loop.ts';
import { ReportHistory } from '../../../controller/report/history.ts';
import { passMetricsPublisher, type PassMetricsDeps } from '../../../controller/metrics-publisher/pass-metrics.ts';
import type { AwsEmulator, AwsFault } from '../../../devstack/emulators/aws/index.ts';
import { startTestStack, type TestStack } from '../../support/stack.ts';
import { DUMMY_CREDENTIALS, clientsFor, seedFromDesired, type SeedOptions } from './seed.ts';

/** How one replica of {@link PassMetricsStack.replica} differs from controller/main.ts's defaults. */
export interface ReplicaOptions {
  /** Where the loop reads its desired state. @defaultValue the stack's `desired` */
  loadDesired?: () => Promise<DesiredState>;
  /** passMetricsPublisher's collaborators besides `cloudwatch` and `retry` (a backlog reader, an API-call listener). */
  publish?: Omit<PassMetricsDeps, 'cloudwatch' | 'retry'>;
  /** The reconcile pass's clock (back-off expiry); the metric timestamps keep the real clock. @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** What {@link startPassMetricsStack} started. */
export interface PassMetricsStack {
  stack: TestStack;
  /** The AWS emulator of `stack` (ECS, Application Auto Scaling, CloudWatch). */
  emu: AwsEmulator;
  /** CloudWatch client on the emulator, SDK retries off. */
  cloudwatch: CloudWatchClient;
  /** ECS / Application Auto Scaling clients on the emulator for the test's own requests (e.g. making drift). */
  clients: ReturnType<typeof clientsFor>;
  /** The live ECS service name of each seeded desired service (from {@link seedFromDesired}). */
  names: Record<string, string>;
  /** A new connection to the stack's Redis, disconnected by `close()`. */
  redis(): Redis;
  /**
   * A reconciler replica: a ReconcileLoop (60 s default interval, not started, source named
   * `desired-state/dev.yml`) taking the lease `<keyPrefix>:reconciler:leader` as `id` (TTL 5 s), publishing
   * through passMetricsPublisher.
   */
  replica(id: string, o?: ReplicaOptions): ReconcileLoop;
  /** Runs one pass of `loop` with `fault` injected into the emulator; every fault is cleared afterwards, whatever happened. */
  runOnceUnder(fault: AwsFault, loop: ReconcileLoop): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the test stack with the AWS emulator and seeds it from `desired` with Copilot-style names.
 * @param name short name of the test file, part of the Redis key prefix.
 * @param seed further seeding options (`copilotNames` is always on).
 */
export async function startPassMetricsStack(name: string, desired: DesiredState, seed: Omit<SeedOptions, 'copilotNames'> = {}): Promise<PassMetricsStack> {
  const stack = await startTestStack(name, { aws: true });
  const emu = stack.aws!;
  const names = await seedFromDesired(emu.endpoint, desired, { ...seed, copilotNames: true });
  const cloudwatch = new CloudWatchClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
  const connections: Redis[] = [];
  const clientSets = [clientsFor(emu.endpoint)];
  const redis = (): Redis => {
    const r = new Redis(stack.redisUrl);
    connections.push(r);
    return r;
  };
  return {
    stack,
    emu,
    cloudwatch,
    clients: clientSets[0]!,
    names,
    redis,
    replica(id, o = {}) {
      const conn = redis();
      const clients = clientsFor(emu.endpoint);
      clientSets.push(clients);
      return new ReconcileLoop(
        {
          loadDesired: o.loadDesired ?? (async () => desired),
          source: 'desired-state/dev.yml',
          reconcile: { ...clients, taskDefinitions: new Map(), retry: { baseMs: 1, capMs: 4 }, ...(o.now ? { now: o.now } : {}) },
          lock: new LeaderLock(conn, `${stack.keyPrefix}:reconciler:leader`, id, { ttlMs: 5_000 }),
          history: new ReportHistory(conn, stack.keyPrefix, 3),
          publishMetrics: passMetricsPublisher({ ...o.publish, cloudwatch, retry: { baseMs: 1, capMs: 4 } }),
        },
        { defaultIntervalMs: 60_000 },
      );
    },
    async runOnceUnder(fault, loop) {
      emu.faults.add(fault);
      try {
        await loop.runOnce();
      } finally {
        emu.faults.clear();
      }
    },
    async close() {
      cloudwatch.destroy();
      for (const c of clientSets) {
        c.ecs.destroy();
        c.autoscaling.destroy();
      }
      for (const r of connections) r.disconnect();
      await stack.close();
    },
  };
}
