import { describe, expect, it } from 'vitest';
import { WebhookAddress } from './WebhookAddress.js';
import { WebhookErrorCode } from './errors.js';

describe('WebhookAddress', () => {
  it('knows public addresses from loopback, private, link-local, CGNAT, multicast and reserved ones', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(WebhookAddress.isPublic(ip), ip).toBe(true);
    for (const ip of [
      '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
      '224.0.0.1', '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1',
      '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '::ffff:10.0.0.1', 'fe80::1%eth0', 'not-an-ip', '',
    ]) expect(WebhookAddress.isPublic(ip), ip).toBe(false);
    expect(WebhookAddress.isPublic('172.32.0.1')).toBe(true);
  });

  it('checks a URL: http(s), no credentials, and no private target unless allowed', () => {
    expect(WebhookAddress.check('https://hooks.example.com/flashcast', false).hostname).toBe('hooks.example.com');
    expect(WebhookAddress.check('http://93.184.216.34:8080/x', false).port).toBe('8080');
    const refused = (url: string, allowPrivate = false) => {
      try {
        WebhookAddress.check(url, allowPrivate);
        return null;
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    for (const url of ['ftp://hooks.example.com/', 'javascript:alert(1)', 'not a url', 'https://user:pw@hooks.example.com/', 'https://user@hooks.example.com/']) {
      expect(refused(url, true), url).toBe(WebhookErrorCode.UrlRefused);
    }
    for (const url of ['http://localhost:3000/', 'http://api.localhost/', 'http://127.0.0.1/', 'http://[::1]/', 'http://169.254.169.254/latest', 'http://10.1.2.3/', 'http://[::ffff:127.0.0.1]/']) {
      expect(refused(url), url).toBe(WebhookErrorCode.UrlRefused);
      expect(refused(url, true), url).toBeNull();
    }
  });
});
