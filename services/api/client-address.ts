/**
 * Who is on the other end: the client's IP address, taken from `X-Forwarded-For` only when the TCP peer is one of
 * the configured trusted proxies (API_TRUSTED_PROXIES), and an anonymised form of it for logs.
 *
 * Why not Koa's `app.proxy`: with it, `ctx.ip` is the *leftmost* `X-Forwarded-For` entry, which any client can
 * write, and `ctx.protocol`/`ctx.host` trust `X-Forwarded-Proto`/`-Host` from every peer. The API keeps
 * `app.proxy` off (nothing reads `ctx.ip`, `ctx.protocol` or `ctx.host`) and uses {@link clientAddress}, which
 * walks the list from the right, the way the load balancer appended to it: each entry added by a trusted proxy is
 * skipped, and the first entry a trusted proxy received from an untrusted peer is the client (MDN,
 * "X-Forwarded-For", Security and privacy concerns: "the rightmost IP address that isn't a trusted proxy").
 *
 * An IP address is personal data under the GDPR (CJEU C-582/14, Breyer), so logs get {@link anonymiseAddress}:
 * the IPv4 /24 or the IPv6 /48 network, the truncation Google Analytics used for its IP anonymisation.
 */
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../platform/errors.ts';

/** Parsed API_TRUSTED_PROXIES. */
export interface TrustedProxies {
  /** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) is a trusted proxy. */
  has(address: string): boolean;
  /** How many entries were configured (0 = X-Forwarded-For is never read). */
  readonly size: number;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; other addresses unchanged (lower-cased, IPv6 zone id dropped). */
export function normaliseAddress(address: string): string {
  const a = address.trim().toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  return mapped?.[1] ?? a;
}

/**
 * Parses a comma-separated list of IPs and CIDRs (`10.0.0.0/16, 192.168.1.7, fd00::/8`).
 * @param source where the list came from, for error messages. @defaultValue 'API_TRUSTED_PROXIES'
 * @throws ValidationError naming every entry that is not an IP or CIDR, with its 1-based position.
 */
export function parseTrustedProxies(csv: string, source = 'API_TRUSTED_PROXIES'): TrustedProxies {
  const list = new BlockList();
  const problems: Array<{ where: string; message: string }> = [];
  const entries = csv.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  entries.forEach((entry, i) => {
    const [addr = '', prefixText, extra] = entry.split('/');
    const address = normaliseAddress(addr);
    const family = isIP(address);
    const where = `${source}[${i + 1}] "${entry}"`;
    if (family === 0 || extra !== undefined) {
      problems.push({ where, message: 'is not an IP address or CIDR' });
      return;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(address, type);
      return;
    }
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) {
      problems.push({ where, message: `has a prefix length outside 0-${family === 4 ? 32 : 128}` });
      return;
    }
    list.addSubnet(address, prefix, type);
  });
  if (problems.length > 0) throw new ValidationError(`invalid ${source}:`, problems, 'invalid_config');
  return {
    size: entries.length,
    has: (address) => {
      const a = normaliseAddress(address);
      const family = isIP(a);
      return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client's address.
 * @param peer the TCP peer (`socket.remoteAddress`); `undefined` when the socket is already gone.
 * @param forwardedFor the `X-Forwarded-For` header ('' when absent).
 * @returns the normalised address, or `'unknown'` when there is no peer.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string, trusted: TrustedProxies): string {
  if (peer === undefined || peer === '') return 'unknown';
  let client = normaliseAddress(peer);
  if (trusted.size === 0 || !trusted.has(client) || forwardedFor === '') return client;
  const hops = forwardedFor.split(',').map((h) => normaliseAddress(h)).filter((h) => h.length > 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? '';
    // Garbage in the header ends the walk: the last trusted hop's peer is all we know.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trusted.has(hop)) return client;
  }
  return client;
}

/**
 * The address with its host part cut off: IPv4 → `a.b.c.0/24`, IPv6 → the first three groups `/48`;
 * anything else → `'unknown'`. Safe to log.
 */
export function anonymiseAddress(address: string): string {
  const a = normaliseAddress(address);
  const family = isIP(a);
  if (family === 4) return `${a.split('.').slice(0, 3).join('.')}.0/24`;
  if (family === 6) {
    const [head = '', tail = ''] = a.split('::');
    const headGroups = head === '' ? [] : head.split(':');
    const tailGroups = tail === '' ? [] : tail.split(':');
    const groups = a.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
    return `${groups.slice(0, 3).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  return 'unknown';
}
