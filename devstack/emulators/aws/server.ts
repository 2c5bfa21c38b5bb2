/**
 * The AWS emulator's HTTP server: one loopback port speaking the AWS JSON 1.1 protocol of ECS
 * (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`) and Application Auto Scaling
 * (`X-Amz-Target: AnyScaleFrontendService.<Op>`), and the AWS JSON 1.0 protocol of CloudWatch
 * (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), dispatching on the target prefix. Requests are POSTs to
 * `/` with `Content-Type: application/x-amz-json-1.1` (1.0 for CloudWatch); answers carry the service's content
 * type and an `x-amzn-RequestId`. CloudWatch is "awsQueryCompatible": its errors also carry
 * `x-amzn-query-error: <Query error code>;<Sender|Receiver>`, from which the SDK takes the error code (aws-sdk-js-v3
 * PR #3972). A `Content-Encoding: gzip` body (the CloudWatch client compresses PutMetricData bodies of 10 KiB
 * and more) is decompressed first. SigV4 `Authorization` headers are accepted and not checked (any credentials
 * work).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { BodyTooLargeError, readBody, sleep } from '../http-body.ts';
import { AwsServiceError, FieldReader, errorBody, isObject, type JsonObject } from './wire.ts';
import { AwsState } from './store.ts';
import { ECS_OPERATIONS, type Operation } from './ecs-operations.ts';
import { AUTOSCALING_OPERATIONS } from './autoscaling-operations.ts';
import { CLOUDWATCH_OPERATIONS } from './cloudwatch-operations.ts';
import type { MetricStore } from './cloudwatch-store.ts';
import { createAwsFaults, type AwsFaults } from './faults.ts';

/** Options of {@link startAwsEmulator}. */
export interface AwsEmulatorOptions {
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Account id used in ARNs. @defaultValue '000000000000' */
  accountId?: string;
  /** Region used in ARNs. @defaultValue 'us-east-1' */
  region?: string;
  /** How long a new ECS deployment stays IN_PROGRESS, in ms. @defaultValue 0 (deployments complete at once) */
  rolloutMs?: number;
  /** Largest accepted request body in bytes. @defaultValue 1048576 */
  maxBodyBytes?: number;
}

/** One request the emulator received. */
export interface AwsCallRecord {
  /** `ecs`, `application-autoscaling`, `cloudwatch`, or `unknown` for an unknown target prefix. */
  service: AwsServiceName | 'unknown';
  /** Operation name from `X-Amz-Target` (`UpdateService`). */
  operation: string;
  /** HTTP status answered. */
  status: number;
  /** Exception name when the answer was an error (`ThrottlingException`). */
  errorType?: string;
  /** Fault applied to this request, if any. */
  fault?: 'throttle' | 'server-error' | 'latency';
  /** Delay added by a latency fault, in ms. */
  delayedMs: number;
  /** When the request arrived, epoch ms. */
  atMs: number;
  /** The request's `Content-Encoding` (`gzip`), when it had one. */
  contentEncoding?: string;
}

/** A running AWS emulator. */
export interface AwsEmulator {
  /** `http://<host>:<port>`: the `endpoint` of ECSClient and ApplicationAutoScalingClient. */
  endpoint: string;
  region: string;
  accountId: string;
  /** The in-memory state, for tests to inspect (and, carefully, to change out of band). */
  state: AwsState;
  /** CloudWatch datapoints accepted so far (`state.metrics`). */
  metrics: MetricStore;
  /** Requests received, oldest first (the newest 10 000). */
  readonly calls: readonly AwsCallRecord[];
  /** Number of requests received for `operation` (all operations when absent), since start or `resetCalls()`. */
  callCount(operation?: string): number;
  /** Forgets the call log and counts. */
  resetCalls(): void;
  /** Fault injection. */
  faults: AwsFaults;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

/** The services the emulator speaks. */
export type AwsServiceName = 'ecs' | 'application-autoscaling' | 'cloudwatch';

interface ServiceSpec {
  service: AwsServiceName;
  namespace: string;
  contentType: string;
  operations: Readonly<Record<string, Operation>>;
  /** Exception for invalid input (FieldReader). */
  invalidType: string;
  throttleType: string;
  serverErrorType: string;
  /** awsQueryCompatible services: exception name → Query error code, sent in `x-amzn-query-error`. */
  queryErrors?: Readonly<Record<string, string>>;
}

const JSON_1_1 = 'application/x-amz-json-1.1';

const SERVICES: Readonly<Record<string, ServiceSpec>> = {
  AmazonEC2ContainerServiceV20141113: {
    service: 'ecs', namespace: 'com.amazonaws.ecs', contentType: JSON_1_1, operations: ECS_OPERATIONS,
    invalidType: 'InvalidParameterException', throttleType: 'ThrottlingException', serverErrorType: 'ServerException',
  },
  AnyScaleFrontendService: {
    service: 'application-autoscaling', namespace: 'com.amazonaws.applicationautoscaling', contentType: JSON_1_1, operations: AUTOSCALING_OPERATIONS,
    invalidType: 'ValidationException', throttleType: 'ThrottlingException', serverErrorType: 'InternalServiceException',
  },
  // Query error codes from the CloudWatch model's awsQueryError traits (@aws-sdk/client-cloudwatch schemas);
  // throttling is the Query API's `Throttling` (HTTP 400), which CloudWatch's model does not declare.
  GraniteServiceVersion20100801: {
    service: 'cloudwatch', namespace: 'com.amazonaws.cloudwatch', contentType: 'application/x-amz-json-1.0', operations: CLOUDWATCH_OPERATIONS,
    invalidType: 'InvalidParameterValueException', throttleType: 'Throttling', serverErrorType: 'InternalServiceFault',
    queryErrors: {
      InvalidParameterValueException: 'InvalidParameterValue', MissingRequiredParameterException: 'MissingParameter',
      InvalidParameterCombinationException: 'InvalidParameterCombination', InternalServiceFault: 'InternalServiceError', Throttling: 'Throttling',
    },
  },
};

const MAX_LOG = 10_000;

/**
 * Starts the emulator on a loopback port.
 * @throws Error when the port cannot be bound.
 */
export async function startAwsEmulator(opts: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const accountId = opts.accountId ?? '000000000000';
  const region = opts.region ?? 'us-east-1';
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  const state = new AwsState({ accountId, region, rolloutMs: opts.rolloutMs ?? 0, now: Date.now });
  const faults = createAwsFaults();
  const closing = new AbortController();
  let calls: AwsCallRecord[] = [];
  let counts = new Map<string, number>();

  function record(c: AwsCallRecord): void {
    calls.push(c);
    if (calls.length > MAX_LOG) calls = calls.slice(-MAX_LOG);
    counts.set(c.operation, (counts.get(c.operation) ?? 0) + 1);
  }

  function send(res: ServerResponse, status: number, body: JsonObject, contentType = JSON_1_1, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const atMs = Date.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const dot = target.lastIndexOf('.');
    const spec = dot > 0 ? SERVICES[target.slice(0, dot)] : undefined;
    const operation = dot > 0 ? target.slice(dot + 1) : target;
    const op = spec?.operations[operation];
    const encoding = req.headers['content-encoding'];
    const base = { service: spec?.service ?? ('unknown' as const), operation: operation || '(none)', atMs, delayedMs: 0, ...(encoding ? { contentEncoding: String(encoding) } : {}) };
    const fail = (e: AwsServiceError, extra: Partial<AwsCallRecord> = {}): void => {
      record({ ...base, ...extra, status: e.status, errorType: e.type });
      const queryCode = spec?.queryErrors?.[e.type];
      const headers: Record<string, string> = queryCode ? { 'x-amzn-query-error': `${queryCode};${e.status >= 500 ? 'Receiver' : 'Sender'}` } : {};
      send(res, e.status, errorBody(spec?.namespace ?? 'com.amazon.coral.service', e), spec?.contentType, headers);
    };

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
      if (/^gzip$/i.test(String(encoding ?? ''))) body = gunzipSync(body, { maxOutputLength: maxBodyBytes });
    } catch (e) {
      if (e instanceof BodyTooLargeError || (e instanceof RangeError && (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')) {
        return fail(new AwsServiceError('SerializationException', `Request body is larger than ${maxBodyBytes} bytes.`, 413));
      }
      if (e instanceof Error && (e as { code?: string }).code?.startsWith('Z_')) return fail(new AwsServiceError('SerializationException', `Content-Encoding gzip, but the body is not gzip: ${e.message}.`));
      throw e;
    }
    if (req.method !== 'POST') return fail(new AwsServiceError('UnknownOperationException', `${req.method} is not supported: the JSON 1.1 protocol uses POST /.`, 404));
    if (!spec || !op) return fail(new AwsServiceError('UnknownOperationException', `Unknown operation: X-Amz-Target "${target}".`));
    let input: unknown = {};
    if (body.length > 0) {
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        return fail(new AwsServiceError('SerializationException', 'Request body is not valid JSON.'));
      }
    }
    if (!isObject(input)) return fail(new AwsServiceError('SerializationException', 'Request body must be a JSON object.'));

    const decision = faults.decide(operation);
    if (decision.delayMs > 0) {
      base.delayedMs = decision.delayMs;
      await sleep(decision.delayMs, closing.signal);
    }
    const fault = decision.error ?? (decision.delayMs > 0 ? ('latency' as const) : undefined);
    if (decision.error === 'throttle') return fail(new AwsServiceError(spec.throttleType, 'Rate exceeded'), { fault });
    if (decision.error === 'server-error') return fail(new AwsServiceError(spec.serverErrorType, 'Injected server error (emulator fault).', 500), { fault });

    try {
      const out = op(state, new FieldReader(input, spec.invalidType));
      record({ ...base, status: 200, ...(fault ? { fault } : {}) });
      send(res, 200, out, spec.contentType);
    } catch (e) {
      if (e instanceof AwsServiceError) return fail(e, fault ? { fault } : {});
      return fail(new AwsServiceError(spec.serverErrorType, `Emulator error in ${operation}: ${e instanceof Error ? e.message : String(e)}`, 500));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': JSON_1_1 });
        res.end(JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: e instanceof Error ? e.message : String(e) }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    endpoint: `http://${urlHost}:${port}`,
    region,
    accountId,
    state,
    metrics: state.metrics,
    get calls() {
      return calls;
    },
    callCount: (operation) => (operation === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(operation) ?? 0)),
    resetCalls: () => {
      calls = [];
      counts = new Map();
    },
    faults: { add: (f) => faults.add(f), clear: () => faults.clear(), get active() { return faults.active; } },
    close: async () => {
      closing.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
