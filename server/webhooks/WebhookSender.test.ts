import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSender } from './WebhookSender.js';

let server: http.Server;
let base = '';
const seen: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/ok') res.writeHead(204).end();
      else if (req.url === '/teapot') res.writeHead(418, { 'content-type': 'text/plain' }).end('I am a teapot '.repeat(200));
      else if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 2_000).unref();
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('WebhookSender (a real HTTP receiver on 127.0.0.1)', () => {
  const sender = new WebhookSender({ allowPrivate: true, timeoutMs: 500, keepBytes: 64 });

  it('POSTs the JSON body with its headers; a 2xx is a success', async () => {
    const r = await sender.send(`${base}/ok`, '{"a":1}', { 'flashcast-event-id': 'evt_x' });
    expect(r).toMatchObject({ ok: true, statusCode: 204, error: null });
    const got = seen.find((s) => s.path === '/ok')!;
    expect(got.body).toBe('{"a":1}');
    expect(got.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '7', 'flashcast-event-id': 'evt_x' });
  });

  it('records a non-2xx with the start of its answer; a redirect is not followed', async () => {
    const teapot = await sender.send(`${base}/teapot`, '{}', {});
    expect(teapot).toMatchObject({ ok: false, statusCode: 418, error: 'http_418' });
    expect(teapot.response!.length).toBeLessThanOrEqual(64);
    expect(teapot.response).toMatch(/^I am a teapot/);
    const before = seen.filter((s) => s.path === '/ok').length;
    expect(await sender.send(`${base}/redirect`, '{}', {})).toMatchObject({ ok: false, statusCode: 302, error: 'http_302' });
    expect(seen.filter((s) => s.path === '/ok')).toHaveLength(before);
  });

  it('names network failures: timeout, refused connection, unknown host', async () => {
    expect(await sender.send(`${base}/slow`, '{}', {})).toMatchObject({ ok: false, statusCode: null, error: 'timeout' });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await sender.send(`http://127.0.0.1:${port}/`, '{}', {})).toMatchObject({ ok: false, error: 'connection_refused' });
    expect(await sender.send('http://no-such-host.invalid/', '{}', {})).toMatchObject({ ok: false, error: 'dns' });
  });

  it('never reaches a private address unless allowed: by IP literal, or by a name that resolves to one', async () => {
    const strict = new WebhookSender({ timeoutMs: 500 });
    const before = seen.length;
    expect(await strict.send(`${base}/ok`, '{}', {})).toMatchObject({ ok: false, statusCode: null, error: 'private_address' });
    const byName = base.replace('127.0.0.1', 'localhost');
    expect(await strict.send(`${byName}/ok`, '{}', {})).toMatchObject({ ok: false, statusCode: null, error: 'private_address' });
    expect(seen).toHaveLength(before);
  });
});
