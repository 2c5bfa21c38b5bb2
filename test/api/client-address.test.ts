/**
 * client-address.ts: API_TRUSTED_PROXIES parsing with errors naming each bad entry, the right-to-left
 * X-Forwarded-For walk, and the anonymised address that logs get.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../services/platform/errors.ts';
import { anonymiseAddress, clientAddress, parseTrustedProxies } from '../../services/api/client-address.ts';

const parse = suite('parseTrustedProxies');

parse('IPs and CIDRs of both families; IPv4-mapped peers match IPv4 entries', () => {
  const t = parseTrustedProxies(' 10.0.0.0/16, 192.168.1.7 ,fd00::/8, ::1');
  assert.is(t.size, 4);
  for (const a of ['10.0.255.1', '::ffff:10.0.3.4', '192.168.1.7', 'fd12::1', '::1']) assert.ok(t.has(a), a);
  for (const a of ['10.1.0.1', '192.168.1.8', 'fe80::1', '127.0.0.1', 'nonsense']) assert.not.ok(t.has(a), a);
  assert.is(parseTrustedProxies('').size, 0);
});

parse('every bad entry is named with its position; nothing is half-accepted', () => {
  try {
    parseTrustedProxies('10.0.0.0/16, 10.0.0.0/33, example.com, ::1/129, 1.2.3.4/8/9');
    assert.unreachable('must throw');
  } catch (err) {
    assert.instance(err, ValidationError);
    const wheres = (err as ValidationError).problems.map((p) => `${p.where}: ${p.message}`);
    assert.equal(wheres, [
      'API_TRUSTED_PROXIES[2] "10.0.0.0/33": has a prefix length outside 0-32',
      'API_TRUSTED_PROXIES[3] "example.com": is not an IP address or CIDR',
      'API_TRUSTED_PROXIES[4] "::1/129": has a prefix length outside 0-128',
      'API_TRUSTED_PROXIES[5] "1.2.3.4/8/9": is not an IP address or CIDR',
    ]);
  }
});

const walk = suite('clientAddress');
const trusted = parseTrustedProxies('10.0.0.0/8');

walk('an untrusted peer is the client, whatever X-Forwarded-For says', () => {
  assert.is(clientAddress('203.0.113.9', '198.51.100.1', trusted), '203.0.113.9');
  assert.is(clientAddress('::ffff:203.0.113.9', '', trusted), '203.0.113.9');
  assert.is(clientAddress('10.0.0.5', '198.51.100.1', parseTrustedProxies('')), '10.0.0.5', 'no trusted proxies: never read');
});

walk('behind trusted proxies: the rightmost entry that is not a trusted proxy', () => {
  assert.is(clientAddress('10.0.0.5', '198.51.100.1', trusted), '198.51.100.1');
  assert.is(clientAddress('10.0.0.5', 'spoofed-by-client, 198.51.100.1, 10.0.9.9', trusted), '198.51.100.1');
  assert.is(clientAddress('10.0.0.5', '10.1.1.1, 10.2.2.2', trusted), '10.1.1.1', 'all trusted: the leftmost');
  assert.is(clientAddress('10.0.0.5', '', trusted), '10.0.0.5');
  assert.is(clientAddress('10.0.0.5', '198.51.100.1, garbage', trusted), '10.0.0.5', 'garbage ends the walk at the last trusted hop');
  assert.is(clientAddress(undefined, '198.51.100.1', trusted), 'unknown');
});

const anon = suite('anonymiseAddress');

anon('IPv4 to its /24, IPv6 to its /48, anything else to unknown', () => {
  assert.is(anonymiseAddress('203.0.113.77'), '203.0.113.0/24');
  assert.is(anonymiseAddress('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.is(anonymiseAddress('2001:db8:abcd:12:34::1'), '2001:db8:abcd::/48');
  assert.is(anonymiseAddress('2001:db8::1'), '2001:db8:0::/48');
  assert.is(anonymiseAddress('::1'), '0:0:0::/48');
  assert.is(anonymiseAddress('unknown'), 'unknown');
});

parse.run();
walk.run();
anon.run();
