import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { WebhookUrlRefusedError } from './errors.js';

/** Addresses no delivery may reach unless private networks are allowed: loopback, private, link-local, CGNAT, multicast, reserved. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 3],
] as const) PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

/** A lookup that refused a name because it resolves to an address deliveries may not reach. */
export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor(host: string) {
    super(`${host} resolves to a private or reserved address`);
    this.name = 'PrivateAddressError';
  }
}

/**
 * Where webhook deliveries may go. A merchant's URL is fetched by the server, so unless private
 * networks are allowed (FLASHCAST_WEBHOOK_ALLOW_PRIVATE=1: development, tests) a URL must not
 * reach this machine or its network: the check runs on the URL when it is registered and on
 * every address the name resolves to when it is delivered (so DNS cannot point it back inside).
 */
export const WebhookAddress = {
  /** True for an IP address deliveries may reach (public unicast). */
  isPublic(ip: string): boolean {
    const family = isIP(ip);
    if (family === 4) return !PRIVATE.check(ip, 'ipv4');
    if (family !== 6) return false;
    // An IPv4-mapped address is its IPv4 address (the URL parser writes every spelling of one as ::ffff:hhhh:hhhh).
    let canonical: string;
    try {
      canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    } catch {
      return false; // e.g. a zone id (fe80::1%eth0): link-local anyway
    }
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (mapped) {
      const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
      return WebhookAddress.isPublic(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return !PRIVATE.check(ip, 'ipv6');
  },

  /**
   * The URL parsed, or WebhookUrlRefusedError: http(s) only, no credentials, and (unless
   * `allowPrivate`) no `localhost` and no private IP literal.
   */
  check(url: string, allowPrivate: boolean): URL {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new WebhookUrlRefusedError('url must be an absolute http(s) URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WebhookUrlRefusedError('url must be http or https');
    if (u.username || u.password) throw new WebhookUrlRefusedError('url must not carry credentials (the signature authenticates deliveries)');
    if (!allowPrivate) {
      const host = WebhookAddress.host(u);
      if (host === 'localhost' || host.endsWith('.localhost')) throw new WebhookUrlRefusedError('url must not point at this machine');
      if (isIP(host) && !WebhookAddress.isPublic(host)) throw new WebhookUrlRefusedError('url must not point at a private or reserved address');
    }
    return u;
  },

  /** The URL's host without IPv6 brackets, lower case. */
  host(u: URL): string {
    return u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  },

  /** A `lookup` for node:http that fails with PrivateAddressError when any address of the name is not public. */
  guardedLookup: ((hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      if (list.length === 0 || list.some((a) => !WebhookAddress.isPublic(a.address))) return callback(new PrivateAddressError(hostname), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      return callback(null, list[0].address, list[0].family);
    });
  }) as LookupFunction,
} as const;
