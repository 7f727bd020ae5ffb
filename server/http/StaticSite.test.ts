/** Unit tests of StaticSite on a temporary folder of pages: what is served, with which headers, and what is refused. */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../common/http/HttpRouter.js';
import { StaticSite } from './StaticSite.js';

const dir = mkdtempSync(join(tmpdir(), 'fc-site-'));
const SCRIPT = `export const x = ${JSON.stringify('flashcast '.repeat(400))};\n`;
let site: StaticSite;

function write(path: string, body: string | Buffer): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), body);
}

function get(path: string, headers: Record<string, string> = {}, query = ''): ApiResponse {
  const answer = site.answer(path, headers, query);
  if (!answer) throw new Error(`${path}: not the site's`);
  return answer;
}

const text = (a: ApiResponse) => Buffer.from(a.raw as Uint8Array).toString();

beforeAll(async () => {
  write('index.html', '<!doctype html><title>home</title>');
  write('watch/index.html', '<!doctype html><title>watch</title>');
  write('studio/index.html', '<!doctype html><title>studio</title>');
  write('assets/index-B3kX9a_Q.js', SCRIPT);
  write('assets/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  write('embed/flashcast-live.js', SCRIPT);
  write('sdk/flashcast.js', 'export {};');
  write('sdk/chunks/Viewer-C-q9NRYG.js', 'export {};');
  write('studio/studio-dashboard.js', 'export {};');
  write('.env', 'SECRET=1');
  write('watch/.hidden.html', 'hidden');
  symlinkSync('/etc/hostname', join(dir, 'assets', 'linked.txt'));
  site = await StaticSite.create({ root: dir });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('StaticSite', () => {
  it('serves / and each directory from its index.html, and only the files found at startup', () => {
    expect(site.built).toBe(true);
    expect(text(get('/'))).toContain('home');
    expect(text(get('/index.html'))).toContain('home');
    expect(text(get('/watch/'))).toContain('watch');
    expect(get('/watch/').headers!['content-type']).toBe('text/html; charset=utf-8');
    expect(site.paths()).toEqual([
      '/', '/assets/index-B3kX9a_Q.js', '/assets/logo.png', '/embed/flashcast-live.js', '/index.html',
      '/sdk/chunks/Viewer-C-q9NRYG.js', '/sdk/flashcast.js', '/studio/', '/studio/index.html', '/studio/studio-dashboard.js', '/watch/', '/watch/index.html',
    ]);
    // Dotfiles and symbolic links are not served: the router answers (404).
    for (const path of ['/.env', '/watch/.hidden.html', '/assets/linked.txt', '/nope', '/ops/']) expect(site.answer(path, {})).toBeNull();
  });

  it('redirects a directory without its slash, keeping the query', () => {
    const a = get('/watch', {}, 'room=demo');
    expect(a.status).toBe(301);
    expect(a.headers!.location).toBe('/watch/?room=demo');
    expect(get('/studio').headers!.location).toBe('/studio/');
  });

  it('sends content types, cache headers and public CORS for scripts', () => {
    const hashed = get('/assets/index-B3kX9a_Q.js');
    expect(hashed.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
    });
    expect(get('/sdk/chunks/Viewer-C-q9NRYG.js').headers!['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(get('/assets/logo.png').headers).toMatchObject({ 'content-type': 'image/png', 'cache-control': 'no-cache' });
    // Fixed names (entries a shop embeds, pages) are revalidated, even one that looks hashed.
    for (const path of ['/', '/watch/', '/embed/flashcast-live.js', '/sdk/flashcast.js', '/studio/studio-dashboard.js']) {
      expect(get(path).headers!['cache-control'], path).toBe('no-cache');
    }
    expect(get('/studio/').headers!['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(get('/watch/').headers!['content-security-policy']).toBeUndefined();
  });

  it('gzips when the client accepts it, with its own ETag', () => {
    const plain = get('/embed/flashcast-live.js');
    expect(plain.headers!['content-encoding']).toBeUndefined();
    expect(text(plain)).toBe(SCRIPT);
    const packed = get('/embed/flashcast-live.js', { 'accept-encoding': 'br, gzip;q=0.8' });
    expect(packed.headers).toMatchObject({ 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
    expect((packed.raw as Buffer).length).toBeLessThan(SCRIPT.length / 4);
    expect(gunzipSync(packed.raw as Buffer).toString()).toBe(SCRIPT);
    expect(packed.headers!.etag).not.toBe(plain.headers!.etag);
    for (const refused of ['gzip;q=0', 'br', 'identity', '*;q=0']) expect(get('/embed/flashcast-live.js', { 'accept-encoding': refused }).headers!['content-encoding'], refused).toBeUndefined();
    expect(get('/embed/flashcast-live.js', { 'accept-encoding': '*' }).headers!['content-encoding']).toBe('gzip');
    // Too small to gain: never gzipped.
    expect(get('/sdk/flashcast.js', { 'accept-encoding': 'gzip' }).headers!['content-encoding']).toBeUndefined();
  });

  it('answers 304 to a matching If-None-Match, per encoding', () => {
    const plain = get('/embed/flashcast-live.js');
    const etag = plain.headers!.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = get('/embed/flashcast-live.js', { 'if-none-match': `"other", W/${etag}` });
    expect([again.status, again.raw, again.headers!.etag]).toEqual([304, undefined, etag]);
    // The gzipped representation has another tag: the plain one does not match it.
    expect(get('/embed/flashcast-live.js', { 'if-none-match': etag, 'accept-encoding': 'gzip' }).status).toBe(200);
    expect(get('/embed/flashcast-live.js', { 'if-none-match': '*' }).status).toBe(304);
  });

  it('refuses NULs, encoded dots and traversal, and never reaches a file outside the folder', () => {
    for (const path of ['/assets/%2e%2e/%2e%2e/etc/passwd', '/%2E%2E/package.json', '/watch/%00', '/a\0b', '/assets/../index.html', '/./index.html', '/assets/%5c..%5cindex.html', '/bad%zz']) {
      const a = get(path);
      expect([a.status, (a.body as { error: { code: string } }).error.code], path).toEqual([400, 'INVALID_ARGUMENT']);
    }
    expect(text(get('/watch/%69ndex.html'))).toContain('watch'); // plain percent-encoding is decoded
  });

  it('leaves API paths to the router, even where a file of that name exists', async () => {
    write('v1/rooms.json', '{}');
    const withApi = await StaticSite.create({ root: dir });
    for (const path of ['/v1/rooms.json', '/v1', '/whip/demo', '/ws', '/v1/%2e%2e']) expect(withApi.answer(path, {}), path).toBeNull();
    rmSync(join(dir, 'v1'), { recursive: true });
  });

  it('without a built folder, pages say to run npm run build; other paths go to the router', async () => {
    const none = await StaticSite.create({ root: join(dir, 'missing') });
    expect(none.built).toBe(false);
    for (const path of ['/', '/watch/', '/watch', '/studio/', '/ops/', '/embed/flashcast-live.js', '/sdk/flashcast.js', '/assets/x-12345678.js']) {
      const a = none.answer(path, {})!;
      expect(a.status, path).toBe(404);
      expect((a.body as { error: { message: string } }).error.message, path).toContain('npm run build');
    }
    for (const path of ['/favicon.ico', '/v1/rooms/r1', '/whip/r1']) expect(none.answer(path, {}), path).toBeNull();
  });
});
