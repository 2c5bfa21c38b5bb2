/**
 * Bucket lifecycle configuration (PutBucketLifecycleConfiguration / GetBucketLifecycleConfiguration): the
 * `LifecycleConfiguration` document checked the way S3 checks it, then kept as parsed and sent back as it came
 * (rule order, elements), with a generated `ID` for a rule that has none, as S3 does. Rules and error codes from
 * the Amazon S3 API reference (PutBucketLifecycleConfiguration, LifecycleRule, LifecycleRuleFilter) and its
 * error-code list: schema violations are `MalformedXML`, bad values `InvalidArgument`, a rule with no action
 * `InvalidRequest`.
 */
import { randomBytes } from 'node:crypto';
import { invalidArgument, invalidRequest, malformedXml } from './errors.ts';
import { childElement, childList, childText, onlyChildren, parseDocument, xmlBoolean, xmlDocument, type XmlElement } from './xml.ts';

/** A stored lifecycle configuration. */
export interface LifecycleConfig {
  /** Rules as sent (each with an `ID`). */
  rules: XmlElement[];
  /** `x-amz-transition-default-minimum-object-size` of the PUT (S3's default `all_storage_classes_128K`). */
  minimumObjectSize: string;
}

/** Most rules one configuration may hold (S3 quota). */
export const MAX_LIFECYCLE_RULES = 1000;
const RULE_CHILDREN = ['ID', 'Filter', 'Prefix', 'Status', 'Expiration', 'Transition', 'NoncurrentVersionExpiration', 'NoncurrentVersionTransition', 'AbortIncompleteMultipartUpload'];
const ACTIONS = ['Expiration', 'Transition', 'NoncurrentVersionExpiration', 'NoncurrentVersionTransition', 'AbortIncompleteMultipartUpload'];
const STORAGE_CLASSES = ['GLACIER', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'];
const MINIMUM_OBJECT_SIZES = ['all_storage_classes_128K', 'varies_by_storage_class'];

function positiveInt(v: string | undefined, what: string, action: string): void {
  if (v === undefined) return;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw invalidArgument(`'${what}' for ${action} action must be a positive integer`, what, v);
}

function checkTag(tag: XmlElement, path: string): void {
  onlyChildren(tag, ['Key', 'Value'], path);
  if (childText(tag, 'Key', path) === undefined) throw malformedXml(`${path}: Key is required`);
}

/** @returns whether the filter selects objects by tag (AbortIncompleteMultipartUpload does not allow that). */
function checkFilter(filter: XmlElement, path: string): boolean {
  const kinds = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'];
  onlyChildren(filter, kinds, path);
  const present = kinds.filter((k) => childList(filter, k).length > 0);
  if (present.length > 1) throw malformedXml(`${path}: a Filter holds one of ${kinds.join(', ')}, got ${present.join(', ')}`);
  childText(filter, 'Prefix', path);
  const tag = childElement(filter, 'Tag', path);
  if (tag) checkTag(tag, `${path}/Tag`);
  const and = childElement(filter, 'And', path);
  if (!and) return tag !== undefined;
  onlyChildren(and, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'], `${path}/And`);
  const tags = childList(and, 'Tag');
  tags.forEach((t, i) => {
    if (typeof t === 'string') throw malformedXml(`${path}/And/Tag[${i}] must contain Key and Value`);
    checkTag(t, `${path}/And/Tag[${i}]`);
  });
  return tags.length > 0;
}

function checkExpiration(e: XmlElement, path: string): void {
  onlyChildren(e, ['Days', 'Date', 'ExpiredObjectDeleteMarker'], path);
  const set = ['Days', 'Date', 'ExpiredObjectDeleteMarker'].filter((k) => childText(e, k, path) !== undefined);
  if (set.length !== 1) throw malformedXml(`${path}: exactly one of Days, Date, ExpiredObjectDeleteMarker`);
  positiveInt(childText(e, 'Days', path), 'Days', 'Expiration');
  const date = childText(e, 'Date', path);
  if (date !== undefined && !/^\d{4}-\d{2}-\d{2}T00:00:00(\.0+)?(Z|\+00:00)$/.test(date)) throw invalidArgument("'Date' must be at midnight GMT", 'Date', date);
  const marker = childText(e, 'ExpiredObjectDeleteMarker', path);
  if (marker !== undefined) xmlBoolean(marker, `${path}/ExpiredObjectDeleteMarker`);
}

function checkTransition(t: XmlElement, path: string, noncurrent: boolean): void {
  const when = noncurrent ? ['NoncurrentDays', 'NewerNoncurrentVersions'] : ['Days', 'Date'];
  onlyChildren(t, [...when, 'StorageClass'], path);
  const cls = childText(t, 'StorageClass', path);
  if (cls === undefined || !STORAGE_CLASSES.includes(cls)) throw malformedXml(`${path}/StorageClass must be one of ${STORAGE_CLASSES.join(', ')}`);
  const days = childText(t, noncurrent ? 'NoncurrentDays' : 'Days', path);
  if (days !== undefined && !/^\d+$/.test(days)) throw invalidArgument(`'Days' in ${noncurrent ? 'NoncurrentVersionTransition' : 'Transition'} action must be nonnegative`, 'Days', days);
}

function checkRule(rule: XmlElement, path: string): void {
  onlyChildren(rule, RULE_CHILDREN, path);
  const status = childText(rule, 'Status', path);
  if (status !== 'Enabled' && status !== 'Disabled') throw malformedXml(`${path}/Status must be Enabled or Disabled`);
  const id = childText(rule, 'ID', path);
  if (id !== undefined && id.length > 255) throw invalidArgument('ID length should not exceed allowed limit of 255', 'ID', id);
  const filter = childElement(rule, 'Filter', path);
  const prefix = childText(rule, 'Prefix', path);
  if (filter && prefix !== undefined) throw malformedXml(`${path}: Filter and Prefix cannot both be given`);
  if (!filter && prefix === undefined) throw malformedXml(`${path}: Filter (or the legacy Prefix) is required`);
  const byTag = filter ? checkFilter(filter, `${path}/Filter`) : false;
  if (!ACTIONS.some((a) => childList(rule, a).length > 0)) throw invalidRequest('At least one action needs to be specified in a rule');
  const expiration = childElement(rule, 'Expiration', path);
  if (expiration) checkExpiration(expiration, `${path}/Expiration`);
  childList(rule, 'Transition').forEach((t, i) => checkTransition(typeof t === 'string' ? {} : t, `${path}/Transition[${i}]`, false));
  childList(rule, 'NoncurrentVersionTransition').forEach((t, i) => checkTransition(typeof t === 'string' ? {} : t, `${path}/NoncurrentVersionTransition[${i}]`, true));
  const noncurrent = childElement(rule, 'NoncurrentVersionExpiration', path);
  if (noncurrent) {
    onlyChildren(noncurrent, ['NoncurrentDays', 'NewerNoncurrentVersions'], `${path}/NoncurrentVersionExpiration`);
    positiveInt(childText(noncurrent, 'NoncurrentDays', path), 'NoncurrentDays', 'NoncurrentVersionExpiration');
  }
  const abort = childElement(rule, 'AbortIncompleteMultipartUpload', path);
  if (abort) {
    onlyChildren(abort, ['DaysAfterInitiation'], `${path}/AbortIncompleteMultipartUpload`);
    const days = childText(abort, 'DaysAfterInitiation', path);
    if (days === undefined) throw malformedXml(`${path}/AbortIncompleteMultipartUpload/DaysAfterInitiation is required`);
    positiveInt(days, 'DaysAfterInitiation', 'AbortIncompleteMultipartUpload');
    if (byTag) throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Tags.');
  }
}

/**
 * Parses and checks the body of a PutBucketLifecycleConfiguration.
 * @param minimumObjectSize the request's `x-amz-transition-default-minimum-object-size` header, if any.
 * @throws S3Error `MalformedXML`, `InvalidArgument` or `InvalidRequest`, as S3 answers.
 */
export function parseLifecycle(body: Buffer, minimumObjectSize: string | undefined): LifecycleConfig {
  const root = parseDocument(body, 'LifecycleConfiguration');
  onlyChildren(root, ['Rule'], 'LifecycleConfiguration');
  const rules = childList(root, 'Rule');
  if (rules.length === 0) throw malformedXml('LifecycleConfiguration needs at least one Rule');
  if (rules.length > MAX_LIFECYCLE_RULES) throw malformedXml(`at most ${MAX_LIFECYCLE_RULES} rules`);
  const ids = new Set<string>();
  const out = rules.map((r, i) => {
    const path = `LifecycleConfiguration/Rule[${i}]`;
    if (typeof r === 'string') throw malformedXml(`${path} must contain elements`);
    checkRule(r, path);
    const id = childText(r, 'ID', path) ?? randomBytes(24).toString('base64url'); // S3 names an unnamed rule
    if (ids.has(id)) throw invalidArgument('Rule ID must be unique. Found same ID for more than one rule', 'ID', id);
    ids.add(id);
    return { ID: id, ...Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'ID')) };
  });
  if (minimumObjectSize !== undefined && !MINIMUM_OBJECT_SIZES.includes(minimumObjectSize)) {
    throw invalidArgument('Invalid value for x-amz-transition-default-minimum-object-size', 'x-amz-transition-default-minimum-object-size', minimumObjectSize);
  }
  return { rules: out, minimumObjectSize: minimumObjectSize ?? 'all_storage_classes_128K' };
}

/** The GetBucketLifecycleConfiguration body. */
export function lifecycleXml(c: LifecycleConfig): string {
  return xmlDocument('LifecycleConfiguration', { Rule: c.rules });
}
