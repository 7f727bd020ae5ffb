import { describe, expect, it } from 'vitest';
import { ClientAddress } from './ClientAddress.js';

describe('ClientAddress', () => {
  it('spells every address one way', () => {
    expect(ClientAddress.canonical('203.0.113.7')).toBe('203.0.113.7');
    expect(ClientAddress.canonical('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1'); // uWS, dual stack
    expect(ClientAddress.canonical('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(ClientAddress.canonical('2001:DB8::0001')).toBe('2001:db8:0:0:0:0:0:1');
    expect(ClientAddress.canonical('::1')).toBe('0:0:0:0:0:0:0:1');
    for (const bad of ['', 'unknown', '1.2.3', '1.2.3.4.5', '2001:db8::1::2', '12345::', 'a\0b', '1.2.3.4, 5.6.7.8']) {
      expect(ClientAddress.canonical(bad), bad).toBeNull();
    }
  });

  it('ignores X-Forwarded-For from a peer it does not trust: nobody picks their own bucket', () => {
    const none = new ClientAddress();
    expect(none.of('198.51.100.9', '1.1.1.1')).toBe('198.51.100.9');
    const lb = new ClientAddress(['10.0.0.2']);
    expect(lb.of('198.51.100.9', '1.1.1.1')).toBe('198.51.100.9');
    expect(lb.of('0000:0000:0000:0000:0000:ffff:c633:6409', undefined)).toBe('198.51.100.9');
  });

  it('behind trusted proxies, takes the rightmost hop that is not one of them', () => {
    const proxies = new ClientAddress(['10.0.0.0/8', '2001:db8::10']);
    expect(proxies.of('10.0.0.2', '203.0.113.7')).toBe('203.0.113.7');
    // The client wrote "6.6.6.6" itself; the balancer appended what it saw.
    expect(proxies.of('10.0.0.2', '6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    // Two trusted hops (a CDN edge in 10/8, then the balancer): skipped.
    expect(proxies.of('10.0.0.2', '6.6.6.6, 203.0.113.7, 10.9.9.9')).toBe('203.0.113.7');
    expect(proxies.of('2001:db8::10', ' 2001:db8::abcd ')).toBe('2001:db8:0:0:0:0:0:abcd');
    // Only proxies in the header: the leftmost one is the best there is.
    expect(proxies.of('10.0.0.2', '10.1.1.1, 10.2.2.2')).toBe('10.1.1.1');
    // Garbage stops the walk at the last good hop (here: the proxy itself).
    expect(proxies.of('10.0.0.2', '203.0.113.7, not-an-ip')).toBe('10.0.0.2');
    expect(proxies.of('10.0.0.2', '')).toBe('10.0.0.2');
  });

  it('accepts addresses and IPv4 networks only', () => {
    for (const ok of ['127.0.0.1', '::1', '10.0.0.0/8', '0.0.0.0/0', '192.168.1.0/24']) expect(ClientAddress.valid(ok), ok).toBe(true);
    for (const bad of ['10.0.0.0/33', 'localhost', '2001:db8::/32', '*', '']) expect(ClientAddress.valid(bad), bad).toBe(false);
    expect(() => new ClientAddress(['proxy.internal'])).toThrow(/not an IP address/);
    const all = new ClientAddress(['0.0.0.0/0']);
    expect(all.of('8.8.8.8', '203.0.113.7')).toBe('203.0.113.7');
  });
});
