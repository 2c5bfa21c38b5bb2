/**
 * Fault injection for the AWS emulator: throttling (HTTP 400 `ThrottlingException`, "Rate exceeded", the error
 * both ECS and Application Auto Scaling return when an account's API rate is exceeded: AWS "Common Errors" pages
 * of both API references), server errors (HTTP 500 `ServerException` for ECS, `InternalServiceException` for
 * Application Auto Scaling; `Throttling` / 500 `InternalServiceFault` for CloudWatch, whose Query-compatible errors
 * name them so) and added latency. Faults match an operation name or `*` and can be limited to a number of
 * requests.
 */

/** One fault to inject. */
export interface AwsFault {
  /** Operation name (`UpdateService`, `DescribeScalableTargets`) or `*` for every operation. @defaultValue '*' */
  operation?: string;
  /** `throttle`: 400 ThrottlingException; `server-error`: 500; `latency`: delay the (normal) answer. */
  kind: 'throttle' | 'server-error' | 'latency';
  /** How many matching requests it affects; unlimited when absent (until `faults.clear()`). */
  times?: number;
  /** Added delay in ms for `latency`. @defaultValue 1000 */
  latencyMs?: number;
}

/** What the fault injector decided for one request. */
export interface FaultDecision {
  /** Delay before answering, in ms. */
  delayMs: number;
  /** An error to answer with instead of running the operation. */
  error?: 'throttle' | 'server-error';
}

/** The fault injector exposed as `AwsEmulator.faults`. */
export interface AwsFaults {
  /** Adds a fault; faults are checked in the order they were added. */
  add(fault: AwsFault): void;
  /** Removes every fault. */
  clear(): void;
  /** Faults still active (times left > 0). */
  readonly active: readonly Readonly<AwsFault>[];
}

interface ActiveFault {
  fault: AwsFault;
  left: number;
}

/** Creates an injector; `decide` is called once per request by the server. */
export function createAwsFaults(): AwsFaults & { decide(operation: string): FaultDecision } {
  let faults: ActiveFault[] = [];
  const matches = (f: AwsFault, op: string): boolean => (f.operation ?? '*') === '*' || f.operation === op;
  return {
    add(fault) {
      if (!['throttle', 'server-error', 'latency'].includes(fault.kind)) throw new Error(`faults.add: unknown kind ${String(fault.kind)}`);
      if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) throw new Error(`faults.add: times must be an integer >= 1, got ${fault.times}`);
      faults.push({ fault: { ...fault }, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clear() {
      faults = [];
    },
    get active() {
      return faults.filter((f) => f.left > 0).map((f) => f.fault);
    },
    decide(operation) {
      const d: FaultDecision = { delayMs: 0 };
      for (const f of faults) {
        if (f.left <= 0 || !matches(f.fault, operation)) continue;
        if (f.fault.kind === 'latency') {
          d.delayMs = Math.max(d.delayMs, f.fault.latencyMs ?? 1000);
          f.left -= 1;
        } else if (!d.error) {
          d.error = f.fault.kind;
          f.left -= 1;
        }
      }
      faults = faults.filter((f) => f.left > 0);
      return d;
    },
  };
}
