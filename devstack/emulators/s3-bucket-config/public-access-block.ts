/**
 * S3 Block Public Access of one bucket (PutPublicAccessBlock / GetPublicAccessBlock): the four settings of a
 * `PublicAccessBlockConfiguration`; an omitted setting is `false` (Amazon S3 API reference,
 * PublicAccessBlockConfiguration). Since April 2023 S3 turns all four on for every new bucket (Amazon S3 User
 * Guide, "Blocking public access to your Amazon S3 storage").
 */
import { childText, onlyChildren, parseDocument, xmlBoolean, xmlDocument } from './xml.ts';

/** The four settings. */
export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

const SETTINGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;

/** What a new bucket gets. */
export const NEW_BUCKET_PUBLIC_ACCESS_BLOCK: PublicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };

/**
 * Parses the body of a PutPublicAccessBlock.
 * @throws S3Error `MalformedXML` for an unknown element or a value other than true/false.
 */
export function parsePublicAccessBlock(body: Buffer): PublicAccessBlock {
  const root = parseDocument(body, 'PublicAccessBlockConfiguration');
  onlyChildren(root, SETTINGS, 'PublicAccessBlockConfiguration');
  const read = (k: (typeof SETTINGS)[number]): boolean => {
    const v = childText(root, k, 'PublicAccessBlockConfiguration');
    return v === undefined ? false : xmlBoolean(v, `PublicAccessBlockConfiguration/${k}`);
  };
  return { BlockPublicAcls: read('BlockPublicAcls'), IgnorePublicAcls: read('IgnorePublicAcls'), BlockPublicPolicy: read('BlockPublicPolicy'), RestrictPublicBuckets: read('RestrictPublicBuckets') };
}

/** The GetPublicAccessBlock body. */
export function publicAccessBlockXml(c: PublicAccessBlock): string {
  return xmlDocument('PublicAccessBlockConfiguration', Object.fromEntries(SETTINGS.map((k) => [k, String(c[k])])));
}
