/**
 * Addresses a production endpoint must not name: a URL whose host is a loopback, private, link-local (the cloud
 * metadata service at 169.254.169.254 among them), shared, unspecified or unique-local IP literal, or `localhost`,
 * points the reconciler's probes and the workers' calls inside the host or the VPC (server-side request forgery).
 * A host NAME is not judged: Azure private endpoints are names that resolve to private addresses by design.
 * Ranges: RFC 1918, RFC 6598, RFC 3927, RFC 5735 (0/8, 127/8), RFC 4193, RFC 4291 (::1, ::, fe80::/10).
 */
import { BlockList, isIP } from 'node:net';

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) NON_PUBLIC.addSubnet(net, prefix, 'ipv6');

/**
 * Whether `hostname` (as `URL.hostname` gives it: IPv6 in brackets) is `localhost` or an IP literal in a non-public
 * range; IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is judged as its IPv4 address. A host name gives false.
 */
export function isNonPublicHost(hostname: string): boolean {
  // `localhost.` (a fully qualified name) is the same host as `localhost`.
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1];
  if (mapped) return NON_PUBLIC.check(mapped, 'ipv4');
  const family = isIP(host);
  if (family === 4) return NON_PUBLIC.check(host, 'ipv4');
  if (family === 6) return NON_PUBLIC.check(host, 'ipv6');
  return false;
}
