/**
 * S3's REST error answers: an HTTP status and an XML body
 * `<Error><Code>…</Code><Message>…</Message>[extra fields]<RequestId>…</RequestId><HostId>…</HostId></Error>`,
 * from which the v3 SDK takes the exception `name` (= Code) and `$metadata.httpStatusCode`. Codes, statuses and
 * messages follow the "Error responses" list of the Amazon S3 API reference.
 */
import { escapeXml } from './xml.ts';

/** An error the stand-in answers with, in S3's own vocabulary. */
export class S3Error extends Error {
  /**
   * @param code S3 error code, e.g. `NoSuchLifecycleConfiguration`.
   * @param status HTTP status (400 client fault, 403 denied, 404 missing, 5xx server).
   * @param fields extra elements of the error body (`BucketName`, `ArgumentName`…), in order.
   */
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** The error body S3 sends for `e`. */
export function errorXml(e: S3Error, requestId: string, hostId: string): string {
  const extra = Object.entries(e.fields).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${escapeXml(hostId)}</HostId></Error>`;
}

/** `MalformedXML` (400): the body is not well-formed or does not follow the operation's XML schema. */
export function malformedXml(detail?: string): S3Error {
  // S3's message is fixed; the detail (what the stand-in's schema check tripped on) is an extra field.
  return new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema', detail ? { Detail: detail } : {});
}

/** `InvalidArgument` (400) naming the argument, as S3 does. */
export function invalidArgument(message: string, name?: string, value?: string): S3Error {
  return new S3Error('InvalidArgument', 400, message, {
    ...(name !== undefined ? { ArgumentName: name } : {}),
    ...(value !== undefined ? { ArgumentValue: value } : {}),
  });
}

/** `InvalidRequest` (400). */
export function invalidRequest(message: string): S3Error {
  return new S3Error('InvalidRequest', 400, message);
}
