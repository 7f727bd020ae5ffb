import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCode } from '../../protocol/codes.js';
import type { Principal } from '../auth/TokenService.js';
import { FlashcastError, UnauthorizedError } from '../errors.js';
import { HttpRouter } from './HttpRouter.js';

const viewer: Principal = { userId: 'v', name: 'V', role: 'viewer', rooms: null, region: null, exp: 0 };
const host: Principal = { userId: 'h', name: 'H', role: 'host', rooms: ['r1'], region: null, exp: 0 };

describe('HttpRouter', () => {
  it('refuses a route without a known action, and a duplicate route', () => {
    const r = new HttpRouter();
    expect(() => r.add('GET', '/x', undefined as never, () => ({ status: 200 }))).toThrow(TypeError);
    expect(() => r.add('GET', '/x', 'room.nothing' as never, () => ({ status: 200 }))).toThrow(TypeError);
    r.add('POST', '/v1/rooms/:roomId/pin', 'room.pin', () => ({ status: 200 }));
    expect(() => r.add('POST', '/v1/rooms/:id/pin', 'room.pin', () => ({ status: 200 }))).toThrow(TypeError);
    r.add('DELETE', '/v1/rooms/:roomId/pin', 'room.pin', () => ({ status: 200 }));
    expect(r.routes()).toEqual([
      { method: 'POST', pattern: '/v1/rooms/:roomId/pin', action: 'room.pin' },
      { method: 'DELETE', pattern: '/v1/rooms/:roomId/pin', action: 'room.pin' },
    ]);
  });

  it('checks every path id, gates by the action, and writes one error shape', async () => {
    const r = new HttpRouter();
    r.add('POST', '/v1/rooms/:roomId/pin', 'room.pin', (req) => ({ status: 200, body: { room: req.params.roomId, by: req.authorize().userId } }));
    r.add('GET', '/v1/fx', 'fx.read', () => ({ status: 200, body: { ok: true } }));
    r.add('PUT', '/v1/fx', 'fx.write', () => ({ status: 204 }));
    r.add('POST', '/v1/zod', 'me.write', (req) => ({ status: 200, body: z.object({ n: z.number() }).strict().parse(req.body) }));
    r.add('POST', '/v1/type', 'me.write', () => {
      throw new TypeError('bad argument');
    });
    r.add('POST', '/v1/boom', 'me.write', () => {
      throw new Error('secret detail');
    });
    r.add('POST', '/v1/busy', 'me.write', () => {
      throw new FlashcastError(ErrorCode.RateLimited, 'slow down', 429, 1500, { hint: 1 });
    });
    const go = (method: string, path: string, principal: Principal | null, extra: object = {}) => r.dispatch({ method, path, principal, ...extra });

    expect(await go('POST', '/v1/rooms/r1/pin', host)).toEqual({ status: 200, body: { room: 'r1', by: 'h' } });
    for (const bad of ['%00', '%ZZ', 'x'.repeat(65), '', 'a%2Fb']) {
      expect(await go('POST', `/v1/rooms/${bad}/pin`, host), bad).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidArgument } } });
    }
    expect(await go('POST', '/v1/rooms/r1/pin', null)).toMatchObject({ status: 401, body: { error: { code: ErrorCode.Unauthorized } } });
    expect(await go('POST', '/v1/rooms/r1/pin', viewer)).toMatchObject({ status: 403, body: { error: { code: ErrorCode.Forbidden } } });
    expect(await go('POST', '/v1/rooms/r2/pin', host)).toMatchObject({ status: 403, body: { error: { code: ErrorCode.Forbidden } } });
    expect(await go('GET', '/v1/fx', null)).toEqual({ status: 200, body: { ok: true } });
    expect(await go('PUT', '/v1/fx', viewer)).toMatchObject({ status: 403 });
    expect(await go('GET', '/v1/none', null)).toMatchObject({ status: 404, body: { error: { code: ErrorCode.NotFound } } });
    expect(await go('DELETE', '/v1/fx', null)).toMatchObject({ status: 405, headers: { allow: 'GET, PUT' } });
    const zod = await go('POST', '/v1/zod', viewer, { text: '{"n":"x"}', headers: { 'content-type': 'application/json' } });
    expect(zod).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidArgument, details: { issues: [{ path: 'n' }] } } } });
    expect(await go('POST', '/v1/zod', viewer, { text: '{"n":' })).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidArgument } } });
    expect(await go('POST', '/v1/zod', viewer, { body: { n: 1 } })).toEqual({ status: 200, body: { n: 1 } });
    expect(await go('POST', '/v1/type', viewer)).toEqual({ status: 400, body: { error: { code: ErrorCode.InvalidArgument, message: 'bad argument' } } });
    expect(await go('POST', '/v1/boom', viewer)).toEqual({ status: 500, body: { error: { code: ErrorCode.Internal, message: 'internal error' } } });
    expect(await go('POST', '/v1/busy', viewer)).toEqual({
      status: 429, headers: { 'retry-after': '2' }, body: { error: { code: ErrorCode.RateLimited, message: 'slow down', details: { hint: 1 } } },
    });
    // the body exactly as received reaches the handler too (a signature is over the raw bytes, not the parsed JSON)
    r.add('POST', '/v1/raw', 'payment.notify', (req) => ({ status: 200, body: { text: req.text ?? null, parsed: req.body ?? null, raw: req.rawBody ?? null } }));
    const spaced = '{ "a" :1 }';
    expect(await go('POST', '/v1/raw', null, { text: spaced, headers: { 'content-type': 'application/json' } })).toEqual({ status: 200, body: { text: spaced, parsed: { a: 1 }, raw: null } });
    expect(await go('POST', '/v1/raw', null, { text: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).toEqual({ status: 200, body: { text: 'a=1', parsed: null, raw: 'a=1' } });
    expect(await go('POST', '/v1/raw', null, { body: { a: 1 } })).toEqual({ status: 200, body: { text: null, parsed: { a: 1 }, raw: null } });
    // a token that fails verification answers 401 through the same adapter
    const forged = await r.dispatch({ method: 'GET', path: '/v1/fx', principal: () => { throw new UnauthorizedError('invalid token'); } });
    expect(forged).toMatchObject({ status: 401, body: { error: { code: ErrorCode.Unauthorized } } });
  });

  it('validates a declared body and query after the policy gate, and hands the handler their parsed values', async () => {
    const r = new HttpRouter();
    const seen: unknown[] = [];
    r.add('POST', '/v1/rooms/:roomId/pin', 'room.pin', {
      summary: 'pin',
      body: z.object({ productId: z.string(), n: z.number().default(1) }).strict(),
      query: z.object({ locale: z.enum(['en', 'fr']).default('en') }),
      responses: { 200: z.object({ ok: z.boolean() }) },
    }, (req) => {
      // typed: req.body.productId is a string, req.queryValues.locale 'en' | 'fr'
      seen.push([req.body.productId, req.body.n, req.queryValues.locale]);
      return { status: 200, body: { ok: true } };
    });
    const go = (extra: object, principal: Principal | null = host) => r.dispatch({ method: 'POST', path: '/v1/rooms/r1/pin', principal, ...extra });
    expect(await go({ body: { productId: 'p1' } })).toEqual({ status: 200, body: { ok: true } });
    expect(await go({ body: { productId: 'p2', n: 3 }, query: new URLSearchParams('locale=fr') })).toMatchObject({ status: 200 });
    expect(seen).toEqual([['p1', 1, 'en'], ['p2', 3, 'fr']]);
    const bad = await go({ body: { productId: 'p1', title: 'Rolex' } });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidArgument } } });
    expect(await go({ body: { productId: 'p1' }, query: new URLSearchParams('locale=de') })).toMatchObject({ status: 400, body: { error: { details: { issues: [{ path: 'locale' }] } } } });
    // no body at all is validated as {}
    expect(await go({})).toMatchObject({ status: 400, body: { error: { details: { issues: [{ path: 'productId' }] } } } });
    // the gate runs first: no token is 401 and a viewer 403, whatever the body
    expect(await go({ body: { bad: true } }, null)).toMatchObject({ status: 401 });
    expect(await go({ body: { bad: true } }, viewer)).toMatchObject({ status: 403 });
    expect(seen).toHaveLength(2);
  });

  it('takes a declared non-JSON body as text, refusing another content type (415)', async () => {
    const r = new HttpRouter();
    r.add('POST', '/whip/:roomId', 'whip.ingest', {
      summary: 'sdp', body: z.string().max(10), bodyType: 'application/sdp', responses: { 201: { contentType: 'application/sdp' } },
    }, (req) => ({ status: 201, raw: `answer to ${req.body}` }));
    const go = (text: string, contentType?: string) =>
      r.dispatch({ method: 'POST', path: '/whip/r1', principal: host, text, headers: contentType ? { 'content-type': contentType } : {} });
    expect(await go('v=0', 'application/sdp')).toEqual({ status: 201, raw: 'answer to v=0' });
    expect(await go('v=0')).toMatchObject({ status: 415 });
    expect(await go('{"v":0}', 'application/json')).toMatchObject({ status: 415 });
    expect(await go('x'.repeat(11), 'application/sdp')).toMatchObject({ status: 400 });
  });

  it('refuses a malformed spec at registration, and lists each route with its spec', () => {
    const r = new HttpRouter();
    const ok = { status: 200 } as const;
    expect(() => r.add('GET', '/a', 'fx.read', { summary: '', responses: { 200: null } }, () => ok)).toThrow(/summary/);
    expect(() => r.add('GET', '/a', 'fx.read', { summary: 'a', responses: {} }, () => ok)).toThrow(/response/);
    expect(() => r.add('GET', '/a', 'fx.read', { summary: 'a', responses: { 404: null } }, () => ok)).toThrow(/success/);
    expect(() => r.add('PUT', '/a', 'fx.write', { summary: 'a', responses: { 204: null }, idempotent: true }, () => ok)).toThrow(/POST/);
    expect(() => r.add('PUT', '/a', 'fx.write', { summary: 'a', body: { parse: () => 1 } as never, responses: { 204: null } }, () => ok)).toThrow(/zod/);
    const spec = { summary: 'a', responses: { 200: null } };
    r.add('GET', '/a', 'fx.read', spec, () => ok);
    r.add('GET', '/b', 'fx.read', () => ok);
    expect(r.routes()).toEqual([{ method: 'GET', pattern: '/a', action: 'fx.read', spec }, { method: 'GET', pattern: '/b', action: 'fx.read', spec: undefined }]);
  });

  it('answers 400 for a malformed Idempotency-Key and 503 when no store keeps keys; ignores the header elsewhere', async () => {
    const r = new HttpRouter();
    let runs = 0;
    r.add('POST', '/v1/things', 'me.write', { summary: 't', responses: { 201: null }, idempotent: true }, () => ({ status: 201, body: { n: ++runs } }));
    r.add('POST', '/v1/other', 'me.write', { summary: 'o', responses: { 201: null } }, () => ({ status: 201, body: { n: ++runs } }));
    const go = (path: string, key: string) => r.dispatch({ method: 'POST', path, principal: viewer, headers: { 'idempotency-key': key } });
    expect(await go('/v1/things', 'has space')).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidArgument } } });
    expect(await go('/v1/things', 'k'.repeat(256))).toMatchObject({ status: 400 });
    expect(await go('/v1/things', 'k1')).toMatchObject({ status: 503, body: { error: { code: ErrorCode.Unavailable } } });
    expect(runs).toBe(0);
    expect(await go('/v1/other', 'k1')).toMatchObject({ status: 201, body: { n: 1 } });
    expect(await go('/v1/other', 'k1')).toMatchObject({ status: 201, body: { n: 2 } });
  });
});
