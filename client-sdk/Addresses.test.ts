import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommerceErrorCode, ErrorCode } from '../protocol/codes.js';
import { FlashcastClient } from './FlashcastClient.js';
import { FlashcastRequestError } from './errors.js';
import { httpBaseUrl } from './HttpChannel.js';

/**
 * `client.addresses()` against a real HTTP server that records each request and answers as
 * scripted (the server's own routes are exercised in test/commerce/shipping.test.ts).
 */
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

let server: Server;
let port: number;
let seen: Seen[];
let answer: (req: Seen) => { status: number; body?: unknown; headers?: Record<string, string> };

beforeEach(async () => {
  seen = [];
  answer = () => ({ status: 200, body: {} });
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s: Seen = { method: req.method!, url: req.url!, authorization: req.headers.authorization, contentType: req.headers['content-type'], body };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { ...(a.body === undefined ? {} : { 'content-type': 'application/json' }), ...a.headers });
      res.end(a.body === undefined ? undefined : typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const saved = {
  id: 'a_1', name: 'Siti', phone: '+6281234567890', line1: 'Jl. Merdeka 10', line2: null, district: null, city: 'Jakarta', state: 'DKI',
  postalCode: '10110', country: 'ID', isDefault: true, createdAt: '2025-01-01T00:00:00.000Z',
};

function client(token: string | (() => Promise<string>) = 'tok-1') {
  // The gateway's HTTP API is found from its WebSocket URL; no connection is needed for HTTP.
  return new FlashcastClient({ url: `ws://127.0.0.1:${port}/ws`, token, requestTimeoutMs: 2_000 });
}

describe('client.addresses()', () => {
  it('lists, adds and removes over the HTTP API with the session token', async () => {
    let n = 0;
    const c = client(async () => `tok-${++n}`);
    answer = (r) => (r.method === 'GET' ? { status: 200, body: { addresses: [saved], defaultAddressId: 'a_1' } }
      : r.method === 'POST' ? { status: 201, body: saved } : { status: 204 });
    expect(await c.addresses().list()).toEqual({ addresses: [saved], defaultAddressId: 'a_1' });
    const input = { name: 'Siti', phone: '+62 812 3456 7890', line1: 'Jl. Merdeka 10', city: 'Jakarta', state: 'DKI', postalCode: '10110', country: 'ID', default: true };
    expect(await c.addresses().add(input)).toEqual(saved);
    expect(await c.addresses().remove('a_1')).toBeUndefined();
    expect(seen.map((s) => [s.method, s.url, s.authorization])).toEqual([
      ['GET', '/v1/me/addresses', 'Bearer tok-1'],
      ['POST', '/v1/me/addresses', 'Bearer tok-2'],
      ['DELETE', '/v1/me/addresses/a_1', 'Bearer tok-3'],
    ]);
    expect(JSON.parse(seen[1].body)).toEqual(input);
    expect(seen[1].contentType).toBe('application/json');
    expect(c.addresses()).toBe(c.addresses());
    expect(c.state).toBe('idle');
    c.close();
  });

  it('a refused address rejects with the stable code and the field in details', async () => {
    const details = { field: 'postalCode', reason: 'format', faults: [{ field: 'postalCode', reason: 'format' }] };
    answer = () => ({ status: 400, body: { error: { code: CommerceErrorCode.AddressInvalid, message: 'address postalCode: format', details } } });
    const error = await client().addresses().add({ name: 'x', phone: '+6281234567890', line1: 'y', country: 'ID', postalCode: '1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlashcastRequestError);
    expect(error).toMatchObject({ code: 'ADDRESS_INVALID', details });
    answer = () => ({ status: 404, body: { error: { code: CommerceErrorCode.AddressNotFound, message: 'address not found' } } });
    await expect(client().addresses().remove('a/../x')).rejects.toMatchObject({ code: 'ADDRESS_NOT_FOUND' });
    expect(seen.at(-1)!.url).toBe('/v1/me/addresses/a%2F..%2Fx');
  });

  it('an unavailable server: UNAVAILABLE with Retry-After, or when nothing answers', async () => {
    answer = () => ({ status: 503, body: 'busy', headers: { 'retry-after': '2', 'content-type': 'text/plain' } });
    await expect(client().addresses().list()).rejects.toMatchObject({ code: ErrorCode.Unavailable, retryAfterMs: 2_000 });
    await new Promise((resolve) => server.close(resolve));
    server.listen(0); // (closed again by afterEach)
    await expect(client().addresses().list()).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });
});

describe('httpBaseUrl', () => {
  it('finds the HTTP API next to the WebSocket endpoint', () => {
    expect(httpBaseUrl('wss://live.example.com/ws')).toBe('https://live.example.com');
    expect(httpBaseUrl('ws://127.0.0.1:8080/ws')).toBe('http://127.0.0.1:8080');
    expect(httpBaseUrl('wss://example.com/live/ws/')).toBe('https://example.com/live');
    expect(httpBaseUrl('wss://example.com')).toBe('https://example.com');
  });
});
