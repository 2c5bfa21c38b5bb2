/**
 * XML of S3's REST-XML protocol, for the bucket-configuration stand-in: well-formedness check and parsing with
 * fast-xml-parser (attributes such as `xmlns` ignored, every text kept as a string), a small generic tree type
 * with typed accessors, and serialisation back to S3's namespaced documents.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { malformedXml } from './errors.ts';

/** S3's XML namespace (every configuration document's root carries it). */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A parsed element: its text, or its child elements by name (a repeated name gives an array). */
export type XmlValue = string | XmlElement;
/** Child elements of one element, by name, in document order. */
export interface XmlElement {
  [name: string]: XmlValue | XmlValue[];
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, ignoreDeclaration: true, ignorePiTags: true });

function toValue(v: unknown, path: string): XmlValue | XmlValue[] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x: unknown) => {
    const one = toValue(x, path);
    if (Array.isArray(one)) throw malformedXml(`${path}: nested list`);
    return one;
  });
  if (typeof v === 'object' && v !== null) {
    const out: XmlElement = {};
    for (const [k, child] of Object.entries(v)) {
      if (k === '#text') throw malformedXml(`${path}: text mixed with elements`);
      out[k] = toValue(child, `${path}/${k}`);
    }
    return out;
  }
  throw malformedXml(`${path}: unexpected content`);
}

/**
 * Parses a configuration document and returns its root's content.
 * @param rootName the element S3 expects as root, e.g. `LifecycleConfiguration`.
 * @throws S3Error `MalformedXML` when the body is empty, not well-formed, or has another root.
 */
export function parseDocument(body: Buffer, rootName: string): XmlElement {
  const text = body.toString('utf8');
  if (text.trim() === '') throw malformedXml('empty body');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformedXml(`line ${valid.err.line}: ${valid.err.msg}`);
  const doc = toValue(parser.parse(text) as unknown, '');
  if (typeof doc === 'string' || Array.isArray(doc)) throw malformedXml('no root element');
  const names = Object.keys(doc);
  if (names.length !== 1 || names[0] !== rootName) throw malformedXml(`root element must be ${rootName}, got ${names.join(', ') || 'none'}`);
  const root = doc[rootName]!;
  if (Array.isArray(root)) throw malformedXml(`more than one ${rootName}`);
  return typeof root === 'string' ? {} : root; // `<Root/>` and `<Root></Root>` parse as ''
}

/** Child elements named `name` (none, one or many) of `el`. */
export function childList(el: XmlElement, name: string): XmlValue[] {
  const v = el[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The single child `name` of `el` (`undefined` when absent).
 * @throws S3Error `MalformedXML` when it is repeated.
 */
export function child(el: XmlElement, name: string, path: string): XmlValue | undefined {
  const list = childList(el, name);
  if (list.length > 1) throw malformedXml(`${path}/${name} appears ${list.length} times`);
  return list[0];
}

/** The text of child `name`, `undefined` when absent. @throws S3Error `MalformedXML` when it has child elements. */
export function childText(el: XmlElement, name: string, path: string): string | undefined {
  const v = child(el, name, path);
  if (v === undefined || typeof v === 'string') return v;
  throw malformedXml(`${path}/${name} must be text`);
}

/** Child `name` as an element (an empty element gives `{}`); `undefined` when absent. @throws S3Error `MalformedXML` for text content. */
export function childElement(el: XmlElement, name: string, path: string): XmlElement | undefined {
  const v = child(el, name, path);
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    if (v === '') return {};
    throw malformedXml(`${path}/${name} must contain elements`);
  }
  return v;
}

/** @throws S3Error `MalformedXML` naming the first child of `el` not in `allowed` (the XML schema's rule). */
export function onlyChildren(el: XmlElement, allowed: readonly string[], path: string): void {
  const unknown = Object.keys(el).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw malformedXml(`${path}: unexpected element ${unknown}`);
}

/** `true` / `false` as S3's XML booleans. @throws S3Error `MalformedXML` for anything else. */
export function xmlBoolean(v: string, path: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw malformedXml(`${path} must be true or false, got ${JSON.stringify(v)}`);
}

/** Escapes text for element content. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function element(name: string, v: XmlValue | XmlValue[]): string {
  if (Array.isArray(v)) return v.map((x) => element(name, x)).join('');
  if (typeof v === 'string') return `<${name}>${escapeXml(v)}</${name}>`;
  return `<${name}>${Object.entries(v).map(([k, c]) => element(k, c)).join('')}</${name}>`;
}

/** A whole S3 document: declaration and the namespaced root holding `content`. */
export function xmlDocument(rootName: string, content: XmlElement): string {
  const inner = Object.entries(content).map(([k, c]) => element(k, c)).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${rootName} xmlns="${S3_XMLNS}">${inner}</${rootName}>`;
}
