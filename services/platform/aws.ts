/**
 * AWS SDK v3 clients built from configuration. Endpoints are overridable (for stand-ins); in production the
 * SDK's default credential chain (the ECS task role) and regional https endpoints are used.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

/** The subset of configuration the AWS clients need. */
export interface AwsClientConfig {
  AWS_REGION: string;
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE: boolean;
  ECS_ENDPOINT?: string;
  APPLICATION_AUTOSCALING_ENDPOINT?: string;
  CLOUDWATCH_ENDPOINT?: string;
}

/**
 * S3 client. Checksums are computed only where AWS requires them (`WHEN_REQUIRED`): with the default
 * (`WHEN_SUPPORTED`) a streamed PutObject is sent aws-chunked, which s3rver stores framing and all, and
 * presigned PUT URLs carry the CRC32 of an empty body (reference/standin-pitfalls.md §1).
 */
export function createS3Client(c: AwsClientConfig): S3Client {
  return new S3Client({
    region: c.AWS_REGION,
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** ECS client; SDK retries stay on (standard mode, 3 attempts) for reads and idempotent writes. */
export function createEcsClient(c: AwsClientConfig, maxAttempts = 3): ECSClient {
  return new ECSClient({ region: c.AWS_REGION, maxAttempts, ...(c.ECS_ENDPOINT ? { endpoint: c.ECS_ENDPOINT } : {}) });
}

/** Application Auto Scaling client. */
export function createAutoScalingClient(c: AwsClientConfig, maxAttempts = 3): ApplicationAutoScalingClient {
  return new ApplicationAutoScalingClient({
    region: c.AWS_REGION,
    maxAttempts,
    ...(c.APPLICATION_AUTOSCALING_ENDPOINT ? { endpoint: c.APPLICATION_AUTOSCALING_ENDPOINT } : {}),
  });
}

/** CloudWatch client (AWS JSON 1.0 protocol since client-cloudwatch 3.11xx; PutMetricData bodies from 10 KiB go gzip-compressed). */
export function createCloudWatchClient(c: AwsClientConfig, maxAttempts = 3): CloudWatchClient {
  return new CloudWatchClient({ region: c.AWS_REGION, maxAttempts, ...(c.CLOUDWATCH_ENDPOINT ? { endpoint: c.CLOUDWATCH_ENDPOINT } : {}) });
}
