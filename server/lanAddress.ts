/**
 * The machine's LAN IPv4 address: where a phone on the same network reaches it (the SFU's
 * announced media address and the page URLs `flashcast start` prints, the dev certificate's
 * names).
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** Interfaces of containers and virtual machines on this host: not reachable from the LAN. */
const VIRTUAL = /^(?:docker|br-|veth|virbr|vboxnet|vmnet|cni|flannel|cali|kube|podman|lxc|lxd)/;

/** RFC 1918 private ranges: what home and office networks (Wi-Fi) hand out. */
function isPrivate(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/**
 * The first IPv4 address, in the order the system lists interfaces, that is not loopback
 * (`internal`), not link-local (169.254/16: no DHCP answer, not routed) and not on a
 * container or VM bridge; a private (RFC 1918) one first, as a phone on the same Wi-Fi is on
 * that network; else the first other one (a server with only a public or CGNAT address).
 * Undefined when there is none (offline machine: loopback only).
 */
export function lanAddress(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string | undefined {
  const candidates: string[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    if (VIRTUAL.test(name)) continue;
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4' || info.internal || info.address.startsWith('169.254.')) continue;
      candidates.push(info.address);
    }
  }
  return candidates.find(isPrivate) ?? candidates[0];
}

/** Where the media plane listens and what it announces in ICE candidates (SfuConfig's fields). */
export interface MediaAddresses {
  listenIp?: string;
  announcedAddress?: string;
}

/**
 * The media addresses `flashcast start` uses, from the configured ones (FLASHCAST_SFU_LISTEN_IP,
 * _ANNOUNCED_ADDRESS) and the LAN address: unchanged when an announced address is configured,
 * the gateway listens on loopback only, a specific listen IP is configured, or there is no LAN
 * address; otherwise media listens on every interface and announces the LAN address, so a
 * phone on the same network reaches the video as well as the pages.
 */
export function lanMedia(host: string, media: MediaAddresses, lan: string | undefined): MediaAddresses {
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  const specificListen = media.listenIp !== undefined && media.listenIp !== '0.0.0.0';
  if (media.announcedAddress !== undefined || loopback || specificListen || lan === undefined) return media;
  return { ...media, listenIp: '0.0.0.0', announcedAddress: lan };
}
