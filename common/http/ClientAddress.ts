/**
 * The address a request came from, for per-address limits and logs. Behind a load balancer
 * every connection comes from the balancer: its address would put every client in one bucket.
 * So when, and only when, the peer is a trusted proxy (FLASHCAST_TRUSTED_PROXIES), the client is
 * read from X-Forwarded-For: the rightmost address there that is not itself a trusted proxy (what
 * the nearest untrusted hop told the first trusted one). Anything left of it was written by the
 * client and proves nothing. A header from an untrusted peer is ignored: nobody can pick their own
 * bucket by sending one.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** One trusted proxy: an exact address, or an IPv4 network in CIDR notation. */
type Matcher = (canonical: string) => boolean;

export class ClientAddress {
  readonly #trusted: Matcher[];

  /** `trusted`: addresses (IPv4 or IPv6) and IPv4 networks (10.0.0.0/8). Throws on anything else. */
  constructor(trusted: readonly string[] = []) {
    this.#trusted = trusted.map((entry) => ClientAddress.#matcher(entry));
  }

  /** Whether `entry` is something the constructor accepts (for the configuration's checks). */
  static valid(entry: string): boolean {
    try {
      ClientAddress.#matcher(entry);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The client's address: the peer's, or, from a trusted proxy, the one X-Forwarded-For names.
   * Always canonical (IPv4-mapped IPv6 as IPv4, IPv6 groups without leading zeros).
   */
  of(peer: string, forwardedFor: string | undefined): string {
    let client = ClientAddress.canonical(peer) ?? peer;
    if (!forwardedFor || !this.#isTrusted(client)) return client;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = ClientAddress.canonical(hops[i].trim());
      if (hop === null) return client; // garbage: trust nothing further left
      client = hop;
      if (!this.#isTrusted(hop)) return hop;
    }
    return client;
  }

  /**
   * An address in one spelling, or null when it is not one: IPv4 as is; IPv6 expanded to eight
   * groups in lower-case hex without leading zeros (no `::`), IPv4-mapped ones as IPv4. uWS reports
   * a dual-stack socket's IPv4 peer as 0000:…:ffff:7f00:0001.
   */
  static canonical(address: string): string | null {
    if (isIPv4(address)) return address;
    if (!isIPv6(address)) return null;
    let head = address.toLowerCase();
    let tail4: number[] = [];
    const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(head);
    if (dotted) {
      const parts = dotted[1].split('.').map(Number);
      tail4 = [(parts[0] << 8) | parts[1], (parts[2] << 8) | parts[3]];
      head = `${head.slice(0, dotted.index)}:`;
      if (head.endsWith('::')) head = `${head}0`;
      else head = head.slice(0, -1);
    }
    const [left, right] = head.includes('::') ? head.split('::') : [head, null];
    const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
    const l = parse(left);
    const r = right === null ? [] : parse(right);
    const fill = 8 - tail4.length - l.length - r.length;
    const groups = [...l, ...new Array<number>(right === null ? 0 : fill).fill(0), ...r, ...tail4];
    if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
    if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
      return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
    }
    return groups.map((g) => g.toString(16)).join(':');
  }

  #isTrusted(canonical: string): boolean {
    return this.#trusted.some((m) => m(canonical));
  }

  static #matcher(entry: string): Matcher {
    const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(entry);
    if (cidr && isIPv4(cidr[1]) && Number(cidr[2]) <= 32) {
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      const network = (toInt(cidr[1]) & mask) >>> 0;
      return (address) => isIPv4(address) && ((toInt(address) & mask) >>> 0) === network;
    }
    const exact = ClientAddress.canonical(entry);
    if (exact === null) throw new TypeError(`"${entry}" is not an IP address or an IPv4 network (a.b.c.d/n)`);
    return (address) => address === exact;
  }
}

function toInt(ipv4: string): number {
  return ipv4.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}
