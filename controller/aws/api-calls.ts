/**
 * The one door every AWS call of a pass goes through: it retries (see `retry.ts`), counts attempts and tells a
 * listener about each, so reports and metrics see the same numbers. Errors come out wrapped with the operation
 * and the target ("DescribeServices content-trends-dev: …"), the original as `cause`.
 */
import { errorMessage } from '../../services/platform/errors.ts';
import { isThrottling, withRetry, type RetryOptions } from './retry.ts';

/** Which AWS API. */
export type AwsApi = 'ecs' | 'application-autoscaling' | 's3' | 'cloudwatch';

/** One attempt, as reported to listeners. */
export interface ApiCallEvent {
  api: AwsApi;
  operation: string;
  outcome: 'ok' | 'throttled' | 'error';
}

/** `ThrottlingException: Rate exceeded (HTTP 400)`: the AWS error name, message and status, whichever exist. */
function describe(err: unknown): string {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const message = errorMessage(err);
  const name = e?.name && e.name !== 'Error' && !message.startsWith(e.name) ? `${e.name}: ` : '';
  const status = e?.$metadata?.httpStatusCode;
  return `${name}${message}${status ? ` (HTTP ${status})` : ''}`;
}

/** An AWS call failed after its retries. */
export class AwsCallError extends Error {
  constructor(
    readonly operation: string,
    readonly target: string,
    cause: unknown,
  ) {
    super(`${operation} ${target}: ${describe(cause)}`, { cause });
    this.name = 'AwsCallError';
  }
  /** The AWS error name (e.g. `ThrottlingException`), when there is one. */
  get awsName(): string | undefined {
    return (this.cause as { name?: string } | undefined)?.name;
  }
}

/** Counts and retries the AWS calls of one pass. */
export class ApiCalls {
  /** Attempts made so far (retries included). */
  count = 0;

  constructor(
    private readonly retry: Partial<RetryOptions> = {},
    private readonly listener?: (e: ApiCallEvent) => void,
  ) {}

  /**
   * Runs one AWS operation with retries.
   * @param target what it is about, for error messages (cluster, resource id).
   * @throws AwsCallError after the last attempt.
   */
  async run<T>(api: AwsApi, operation: string, target: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, this.retry, (err) => {
        this.count++;
        this.listener?.({ api, operation, outcome: err === undefined ? 'ok' : isThrottling(err) ? 'throttled' : 'error' });
      });
    } catch (err) {
      throw new AwsCallError(operation, target, err);
    }
  }
}
