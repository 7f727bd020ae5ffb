/** Unit tests of lanAddress: which IPv4 address a phone on the LAN reaches this machine at. */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { lanAddress, lanMedia } from './lanAddress.js';

function v4(address: string, internal = false): NetworkInterfaceInfo {
  return { address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: `${address}/24` };
}

function v6(address: string): NetworkInterfaceInfo {
  return { address, family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: `${address}/64`, scopeid: 0 };
}

describe('lanAddress', () => {
  it('takes the Wi-Fi address, not loopback, link-local, IPv6 or a container bridge', () => {
    expect(
      lanAddress({
        lo: [v4('127.0.0.1', true)],
        docker0: [v4('172.17.0.1')],
        eth0: [v4('169.254.10.2'), v6('fe80::1')],
        wlan0: [v6('fd00::5'), v4('192.168.1.23')],
      }),
    ).toBe('192.168.1.23');
  });

  it('prefers a private address over a public one listed first', () => {
    expect(lanAddress({ eth0: [v4('203.0.113.7')], eth1: [v4('10.0.0.4')] })).toBe('10.0.0.4');
    expect(lanAddress({ eth0: [v4('172.15.0.9')], eth1: [v4('172.20.1.2')] })).toBe('172.20.1.2');
  });

  it('falls back to the first other address, and to nothing offline', () => {
    expect(lanAddress({ eth0: [v4('203.0.113.7')], eth1: [v4('198.51.100.2')] })).toBe('203.0.113.7');
    expect(lanAddress({ lo: [v4('127.0.0.1', true)] })).toBeUndefined();
    expect(lanAddress({})).toBeUndefined();
  });

  it('lanMedia: announces the LAN address unless configured otherwise or loopback only', () => {
    expect(lanMedia('0.0.0.0', {}, '192.168.1.23')).toEqual({ listenIp: '0.0.0.0', announcedAddress: '192.168.1.23' });
    expect(lanMedia('0.0.0.0', { listenIp: '0.0.0.0' }, '10.0.0.4')).toEqual({ listenIp: '0.0.0.0', announcedAddress: '10.0.0.4' });
    expect(lanMedia('0.0.0.0', { announcedAddress: 'live.example.com' }, '10.0.0.4')).toEqual({ announcedAddress: 'live.example.com' });
    expect(lanMedia('0.0.0.0', { listenIp: '10.0.0.9' }, '10.0.0.4')).toEqual({ listenIp: '10.0.0.9' });
    expect(lanMedia('127.0.0.1', {}, '10.0.0.4')).toEqual({});
    expect(lanMedia('localhost', {}, '10.0.0.4')).toEqual({});
    expect(lanMedia('0.0.0.0', {}, undefined)).toEqual({});
  });
});
