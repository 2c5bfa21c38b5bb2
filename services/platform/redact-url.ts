/**
 * URLs as they may be shown (logs, drift reports, CLI output): user name, password and query string removed, since
 * configuration URLs can carry credentials there (`https://user:pass@host`, an `?api-key=` or a SAS `?sig=`). The
 * scheme, host, port and path stay, which is what an operator needs to tell endpoints apart.
 */

/**
 * `value` with the credentials of a URL in it removed: userinfo becomes `[redacted]@`, a query string `?[redacted]`;
 * a fragment is dropped. A value that is not an absolute URL is returned unchanged.
 */
export function redactUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return value;
  }
  if (!u.host) return value; // not a hierarchical URL (mailto:, urn:): nothing of this kind to hide
  if (!u.username && !u.password && !u.search && !u.hash) return value;
  const userinfo = u.username || u.password ? '[redacted]@' : '';
  return `${u.protocol}//${userinfo}${u.host}${u.pathname}${u.search ? '?[redacted]' : ''}`;
}
