/**
 * S3 bucket-configuration stand-in: lifecycle, default encryption, Block Public Access and bucket policy in
 * front of s3rver, which lacks them. Only devstack/ and test/ use it; production code just sees an endpoint URL.
 */
export { startS3BucketConfig, type S3BucketConfigOptions, type S3BucketConfigStandIn } from './server.ts';
