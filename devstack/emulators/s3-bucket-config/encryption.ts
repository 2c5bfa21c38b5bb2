/**
 * Default bucket encryption (PutBucketEncryption / GetBucketEncryption): the `ServerSideEncryptionConfiguration`
 * document, checked as S3 checks it (Amazon S3 API reference: ServerSideEncryptionRule,
 * ServerSideEncryptionByDefault; an unknown algorithm is a schema violation, `MalformedXML`; a key id with
 * SSE-S3 is `InvalidArgument`).
 */
import { S3Error, invalidArgument, malformedXml } from './errors.ts';
import { childElement, childList, childText, onlyChildren, parseDocument, xmlBoolean, xmlDocument, type XmlElement } from './xml.ts';

/** One encryption rule. */
export interface EncryptionRule {
  /** `AES256` (SSE-S3), `aws:kms` (SSE-KMS) or `aws:kms:dsse` (DSSE-KMS). */
  sseAlgorithm: string;
  kmsMasterKeyId?: string;
  bucketKeyEnabled?: boolean;
}

/** A bucket's default encryption. */
export interface EncryptionConfig {
  rules: EncryptionRule[];
}

const ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'];

/**
 * The configuration S3 applies to every bucket that has no other (SSE-S3, since 5 January 2023: Amazon S3 User
 * Guide, "Setting default server-side encryption behavior"), and that DeleteBucketEncryption returns to.
 */
export const SSE_S3_DEFAULT: EncryptionConfig = { rules: [{ sseAlgorithm: 'AES256', bucketKeyEnabled: false }] };

/**
 * Parses and checks the body of a PutBucketEncryption.
 * @throws S3Error `MalformedXML` or `InvalidArgument`.
 */
export function parseEncryption(body: Buffer): EncryptionConfig {
  const root = parseDocument(body, 'ServerSideEncryptionConfiguration');
  onlyChildren(root, ['Rule'], 'ServerSideEncryptionConfiguration');
  const rules = childList(root, 'Rule');
  if (rules.length === 0) throw malformedXml('ServerSideEncryptionConfiguration needs a Rule');
  return {
    rules: rules.map((r, i) => {
      const path = `ServerSideEncryptionConfiguration/Rule[${i}]`;
      if (typeof r === 'string') throw malformedXml(`${path} must contain elements`);
      if (r.BlockedEncryptionTypes !== undefined) throw new S3Error('NotImplemented', 501, 'BlockedEncryptionTypes is not implemented by this stand-in');
      onlyChildren(r, ['ApplyServerSideEncryptionByDefault', 'BucketKeyEnabled'], path);
      const by = childElement(r, 'ApplyServerSideEncryptionByDefault', path);
      if (!by) throw malformedXml(`${path}/ApplyServerSideEncryptionByDefault is required`);
      const p = `${path}/ApplyServerSideEncryptionByDefault`;
      onlyChildren(by, ['SSEAlgorithm', 'KMSMasterKeyID'], p);
      const sseAlgorithm = childText(by, 'SSEAlgorithm', p);
      if (sseAlgorithm === undefined || !ALGORITHMS.includes(sseAlgorithm)) throw malformedXml(`${p}/SSEAlgorithm must be one of ${ALGORITHMS.join(', ')}`);
      const kmsMasterKeyId = childText(by, 'KMSMasterKeyID', p);
      if (kmsMasterKeyId !== undefined && sseAlgorithm === 'AES256') {
        throw invalidArgument('a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse', 'ApplyServerSideEncryptionByDefault');
      }
      const bucketKey = childText(r, 'BucketKeyEnabled', path);
      return {
        sseAlgorithm,
        ...(kmsMasterKeyId !== undefined ? { kmsMasterKeyId } : {}),
        ...(bucketKey !== undefined ? { bucketKeyEnabled: xmlBoolean(bucketKey, `${path}/BucketKeyEnabled`) } : {}),
      };
    }),
  };
}

/** The GetBucketEncryption body. */
export function encryptionXml(c: EncryptionConfig): string {
  const Rule: XmlElement[] = c.rules.map((r) => ({
    ApplyServerSideEncryptionByDefault: { SSEAlgorithm: r.sseAlgorithm, ...(r.kmsMasterKeyId !== undefined ? { KMSMasterKeyID: r.kmsMasterKeyId } : {}) },
    BucketKeyEnabled: String(r.bucketKeyEnabled ?? false),
  }));
  return xmlDocument('ServerSideEncryptionConfiguration', { Rule });
}
