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
});
