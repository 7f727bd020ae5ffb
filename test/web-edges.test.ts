import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevCert } from '../server/devCert.js';
import { chromiumAvailable, launchChromium, serveStatic } from './helpers/browser.js';
import { mint } from './helpers/clients.js';
import { startGateway } from './helpers/InProcessGateway.js';

/**
 * The gateway's web edges on a real gateway (real Redis): the built pages it serves (from a
 * temporary folder), CORS for configured origins (Node requests with Origin headers, and
 * Chromium pages on other origins), the Origin check on WebSocket upgrades, and TLS with a
 * certificate from `flashcast dev-cert`'s openssl.
 */

const pages = mkdtempSync(join(tmpdir(), 'fc-pages-'));
const SCRIPT = `window.flashcastLoaded = (window.flashcastLoaded ?? 0) + 1; // ${'padding '.repeat(100)}\n`;
let gw: Awaited<ReturnType<typeof startGateway>>;
let shop: Awaited<ReturnType<typeof serveStatic>>;
let elsewhere: Awaited<ReturnType<typeof serveStatic>>;
let viewerToken: string;

function page(path: string, body: string): void {
  mkdirSync(join(pages, path, '..'), { recursive: true });
  writeFileSync(join(pages, path), body);
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request with exactly this path and these headers (fetch would normalise `..` away and decompress). */
function raw(method: string, path: string, headers: Record<string, string> = {}, base = gw.http, ca?: Buffer): Promise<RawAnswer> {
  const url = new URL(base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({ host: url.hostname, port: url.port, method, path, headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a socket with an Origin header; resolves with the first frame's arrival or the refusal's status. */
function openSocket(url: string, origin: string | undefined, options: WebSocket.ClientOptions = {}): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...(origin ? { origin } : {}), ...options });
    ws.once('message', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

beforeAll(async () => {
  page('index.html', '<!doctype html><title>Flashcast</title>');
  page('watch/index.html', '<!doctype html><title>watch</title>');
  page('embed/flashcast-live.js', SCRIPT);
  page('assets/chunk-AbCd1234.js', SCRIPT);
  // Two pages on other origins (other ports): a listed shop and a site that is not.
  const probe = '<!doctype html><title>probe</title>';
  shop = await serveStatic({ '/': ['text/html', probe] });
  elsewhere = await serveStatic({ '/': ['text/html', probe] });
  gw = await startGateway({ corsOrigins: [shop.url] }, { pages });
  viewerToken = await mint({ sub: 'edge-viewer', role: 'viewer', name: 'V' });
  // The room gets a stream, so that reading it answers 200.
  const host = await mint({ sub: 'edge-host', role: 'host', rooms: ['edge-room'], name: 'H' });
  const opened = await fetch(`${gw.http}/v1/rooms/edge-room/announcements`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'welcome' }),
  });
  if (opened.status !== 200) throw new Error(`announcement: ${opened.status} ${await opened.text()}`);
});

afterAll(async () => {
  await gw?.close();
  await shop?.close();
  await elsewhere?.close();
  rmSync(pages, { recursive: true, force: true });
});

describe('the built pages', () => {
  it('serves / and /watch/, redirects /watch, and keeps JSON 404s for unknown paths', async () => {
    const home = await fetch(`${gw.http}/`);
    expect([home.status, home.headers.get('content-type'), await home.text()]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><title>Flashcast</title>']);
    const watch = await fetch(`${gw.http}/watch/?room=demo`);
    expect(await watch.text()).toContain('watch');
    const bare = await fetch(`${gw.http}/watch?room=demo`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/watch/?room=demo']);
    for (const path of ['/v1/nope', '/whip', '/nope.html', '/studio/']) {
      const res = await fetch(`${gw.http}${path}`);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code], path).toEqual([404, 'NOT_FOUND']);
    }
    // The API's own pages are still the router's.
    expect((await fetch(`${gw.http}/openapi.json`)).headers.get('content-type')).toContain('json');
    expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
  });

  it('gzips, revalidates with ETags, answers HEAD without a body, and refuses traversal', async () => {
    const packed = await raw('GET', '/embed/flashcast-live.js', { 'accept-encoding': 'gzip' });
    expect(packed.headers).toMatchObject({ 'content-encoding': 'gzip', 'cache-control': 'no-cache', 'access-control-allow-origin': '*' });
    expect(packed.body.length).toBeLessThan(SCRIPT.length);
    const plain = await raw('GET', '/embed/flashcast-live.js');
    expect(plain.body.toString()).toBe(SCRIPT);
    const head = await raw('HEAD', '/embed/flashcast-live.js');
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(SCRIPT.length), 0]);
    const again = await raw('GET', '/embed/flashcast-live.js', { 'if-none-match': plain.headers.etag! });
    expect([again.status, again.body.length, again.headers.etag]).toEqual([304, 0, plain.headers.etag]);
    // The connection stays usable after a HEAD and a 304 (no stray body on the wire).
    expect((await raw('GET', '/assets/chunk-AbCd1234.js')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    for (const path of ['/../package.json', '/assets/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/watch/%00']) {
      const res = await raw('GET', path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.body.toString(), path).not.toContain('root:');
      expect(res.body.toString(), path).not.toContain('"name": "flashcast"');
    }
  });
});

describe('CORS', () => {
  it('gives a listed origin its CORS headers on API answers, errors included, and nothing to others', async () => {
    const listed = await fetch(`${gw.http}/v1/rooms/edge-room`, { headers: { origin: shop.url, authorization: `Bearer ${viewerToken}` } });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('access-control-allow-origin')).toBe(shop.url);
    expect(listed.headers.get('vary')).toContain('Origin');
    expect(listed.headers.get('access-control-expose-headers')).toContain('retry-after');
    const refused = await fetch(`${gw.http}/v1/rooms/edge-room`, { headers: { origin: shop.url } });
    expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([401, shop.url]);
    const other = await fetch(`${gw.http}/v1/rooms/edge-room`, { headers: { origin: elsewhere.url, authorization: `Bearer ${viewerToken}` } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers preflights from a listed origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${gw.http}/v1/rooms/edge-room/state`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' },
      });
    const ok = await preflight(shop.url);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(shop.url);
    expect(ok.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(ok.headers.get('access-control-allow-headers')).toBe('authorization, content-type, idempotency-key');
    expect(ok.headers.get('access-control-max-age')).toBe('600');
    const no = await preflight(elsewhere.url);
    expect(no.status).toBe(405);
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens sockets for a listed origin, the gateway\'s own pages and non-browsers; refuses other pages (403)', async () => {
    const url = `${gw.url}?token=${encodeURIComponent(viewerToken)}`;
    expect(await openSocket(url, shop.url)).toEqual({ opened: true });
    expect(await openSocket(url, gw.http)).toEqual({ opened: true });
    expect(await openSocket(url, undefined)).toEqual({ opened: true });
    expect(await openSocket(url, elsewhere.url)).toEqual({ opened: false, status: 403 });
  });

  it.skipIf(!chromiumAvailable())('in Chromium: a listed shop\'s page calls the API and opens a socket; another page cannot', async () => {
    const browser = await launchChromium();
    try {
      const probe = async (origin: string) => {
        const tab = await browser.newPage();
        await tab.goto(origin);
        const result = await tab.evaluate(
          async ({ http, ws, token }) => {
            const api = await fetch(`${http}/v1/rooms/edge-room`, { headers: { authorization: `Bearer ${token}` } }).then(
              async (r) => `${r.status} ${((await r.json()) as { roomId?: string }).roomId}`,
              (e: Error) => `blocked ${e.name}`,
            );
            const socket = await new Promise<string>((resolve) => {
              const s = new window.WebSocket(`${ws}?token=${encodeURIComponent(token)}`);
              s.onmessage = () => {
                s.close();
                resolve('open');
              };
              s.onerror = () => resolve('refused');
            });
            // The embed script is public: a module from the gateway runs on any page.
            await new Promise<void>((resolve, reject) => {
              const tag = document.createElement('script');
              tag.type = 'module';
              tag.src = `${http}/embed/flashcast-live.js`;
              tag.onload = () => resolve();
              tag.onerror = () => reject(new Error('module blocked'));
              document.head.append(tag);
            });
            return { api, socket, embed: (window as unknown as { flashcastLoaded?: number }).flashcastLoaded ?? 0 };
          },
          { http: gw.http, ws: gw.url, token: viewerToken },
        );
        await tab.close();
        return result;
      };
      expect(await probe(shop.url)).toEqual({ api: '200 edge-room', socket: 'open', embed: 1 });
      expect(await probe(elsewhere.url)).toEqual({ api: 'blocked TypeError', socket: 'refused', embed: 1 });
    } finally {
      await browser.close();
    }
  });
});

describe('TLS', () => {
  it('serves HTTPS and WSS with a dev-cert certificate, verified against it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-tls-'));
    const cert = makeDevCert({ outDir: dir, names: ['localhost', '127.0.0.1'] });
    const tls = await startGateway({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } }, { pages });
    try {
      expect(tls.node.secure).toBe(true);
      const ca = readFileSync(cert.certFile);
      const base = `https://127.0.0.1:${tls.node.port}`;
      const health = await raw('GET', '/healthz', {}, base, ca);
      expect([health.status, JSON.parse(health.body.toString()).ok]).toEqual([200, true]);
      expect((await raw('GET', '/watch/', {}, base, ca)).body.toString()).toContain('watch');
      const wss = `wss://127.0.0.1:${tls.node.port}/ws?token=${encodeURIComponent(viewerToken)}`;
      expect(await openSocket(wss, undefined, { ca })).toEqual({ opened: true });
      // Plain HTTP on the TLS port gets nowhere, and an unknown certificate is refused by the client.
      await expect(raw('GET', '/healthz', {}, `http://127.0.0.1:${tls.node.port}`)).rejects.toThrow();
      await expect(raw('GET', '/healthz', {}, base)).rejects.toThrow(/self-signed|self signed/);
    } finally {
      await tls.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a key that does not match the certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-tls-'));
    const a = makeDevCert({ outDir: join(dir, 'a'), names: ['localhost'] });
    const b = makeDevCert({ outDir: join(dir, 'b'), names: ['localhost'] });
    try {
      await expect(startGateway({ tls: { certFile: a.certFile, keyFile: b.keyFile } }, { pages: false })).rejects.toThrow(/FLASHCAST_TLS_CERT=.*FLASHCAST_TLS_KEY=/);
      await expect(startGateway({ tls: { certFile: join(dir, 'none.pem'), keyFile: a.keyFile } }, { pages: false })).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
