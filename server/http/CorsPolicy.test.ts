/** Unit tests of CorsPolicy: which origins get CORS headers, preflight answers and sockets. */
import { describe, expect, it } from 'vitest';
import { CorsPolicy } from './CorsPolicy.js';

const SHOP = 'https://shop.example';

describe('CorsPolicy', () => {
  it('is off without an allow-list: no headers, no preflight, sockets from anywhere', () => {
    const cors = new CorsPolicy({ origins: [] });
    expect(cors.enabled).toBe(false);
    expect(cors.responseHeaders(SHOP)).toEqual({});
    expect(cors.preflight({ origin: SHOP, 'access-control-request-method': 'POST' })).toBeNull();
    expect(cors.allowsSocket('https://evil.example', '127.0.0.1:8080', false)).toBe(true);
  });

  it('gives a listed origin its own origin back, never credentials, and what it may read', () => {
    const cors = new CorsPolicy({ origins: [SHOP, 'http://localhost:5173'] });
    const headers = cors.responseHeaders(SHOP);
    expect(headers).toEqual({
      'access-control-allow-origin': SHOP,
      'access-control-expose-headers': 'retry-after, location, etag, link, idempotent-replayed',
      vary: 'Origin',
    });
    expect(headers['access-control-allow-credentials']).toBeUndefined();
    expect(cors.responseHeaders('http://localhost:5173')['access-control-allow-origin']).toBe('http://localhost:5173');
  });

  it('matches origins exactly: no prefix, suffix, case or port games', () => {
    const cors = new CorsPolicy({ origins: [SHOP] });
    for (const other of ['https://shop.example.evil.com', 'https://evilshop.example', 'http://shop.example', 'https://shop.example:8443', 'https://SHOP.example', 'null', '', undefined]) {
      expect(cors.responseHeaders(other), String(other)).toEqual({});
      expect(cors.preflight({ ...(other === undefined ? {} : { origin: other }), 'access-control-request-method': 'GET' }), String(other)).toBeNull();
    }
  });

  it('answers a preflight from a listed origin with the methods, headers and max-age', () => {
    const cors = new CorsPolicy({ origins: [SHOP] });
    const answer = cors.preflight({ origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, idempotency-key' });
    expect(answer?.status).toBe(204);
    expect(answer?.headers).toMatchObject({
      'access-control-allow-origin': SHOP,
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'authorization, content-type, idempotency-key',
      'access-control-max-age': '600',
    });
    expect(answer?.headers?.vary).toContain('Origin');
    // An OPTIONS that is not a preflight is answered like any request.
    expect(cors.preflight({ origin: SHOP })).toBeNull();
  });

  it('"*" allows any origin, as "*"', () => {
    const cors = new CorsPolicy({ origins: ['*'] });
    expect(cors.responseHeaders('https://anyone.example')['access-control-allow-origin']).toBe('*');
    expect(cors.preflight({ origin: 'https://anyone.example', 'access-control-request-method': 'PUT' })?.headers?.['access-control-allow-origin']).toBe('*');
    expect(cors.allowsSocket('https://anyone.example', 'live.example', true)).toBe(true);
  });

  it('with an allow-list, opens sockets for listed origins, its own origin and non-browsers only', () => {
    const cors = new CorsPolicy({ origins: [SHOP], ownOrigins: ['https://live.example'] });
    expect(cors.allowsSocket(SHOP, '127.0.0.1:8080', false)).toBe(true);
    expect(cors.allowsSocket(undefined, '127.0.0.1:8080', false)).toBe(true); // no Origin: not a browser page
    expect(cors.allowsSocket('', '127.0.0.1:8080', false)).toBe(true);
    expect(cors.allowsSocket('http://127.0.0.1:8080', '127.0.0.1:8080', false)).toBe(true); // the gateway's own pages
    expect(cors.allowsSocket('https://192.168.1.5:8080', '192.168.1.5:8080', true)).toBe(true);
    expect(cors.allowsSocket('https://live.example', '10.0.0.3:8080', false)).toBe(true); // behind a proxy: the public URL
    expect(cors.allowsSocket('https://evil.example', '127.0.0.1:8080', false)).toBe(false);
    expect(cors.allowsSocket('http://192.168.1.5:8080', '192.168.1.5:8080', true)).toBe(false); // scheme differs from the port's
    expect(cors.allowsSocket('https://evil.example', 'evil.example', false)).toBe(false);
    expect(cors.allowsSocket('null', '127.0.0.1:8080', false)).toBe(false);
  });
});
