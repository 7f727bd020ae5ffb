import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, flashcast, encodeClientFrame } from '../protocol/index.js';
import { JWT_SECRET } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { RawClient, mint } from './helpers/clients.js';

let gw: Awaited<ReturnType<typeof startGateway>>;
const raws: RawClient[] = [];
/** A healthy viewer that must keep working whatever the others send. */
let bystander: RawClient;

async function raw(token: string | null): Promise<RawClient> {
  const c = await RawClient.open(gw.url, token);
  raws.push(c);
  return c;
}

async function viewerRaw(id = `bad-${raws.length}`): Promise<RawClient> {
  const c = await raw(await mint({ sub: id, role: 'viewer' }));
  await c.next((f) => f.msg === 'connected');
  return c;
}

const errorOf = (f: flashcast.ServerFrame) => f.error?.code;

beforeAll(async () => {
  gw = await startGateway({ maxFrameBytes: 4096 });
  bystander = await viewerRaw('bystander');
  bystander.send({ v: 1, rid: 1, join: { room: 'calm' } });
  await bystander.reply(1);
});

afterAll(async () => {
  for (const c of raws) c.close();
  await gw.close();
});

async function expectBystanderAlive(): Promise<void> {
  const rid = Math.floor(Math.random() * 1e6) + 10;
  bystander.send({ v: 1, rid, ping: { clientTime: 1 } });
  const pong = await bystander.reply(rid);
  expect(pong.pong?.clientTime).toBe(1);
}

describe('tokens', () => {
  it('refuses a missing token with UNAUTHORIZED and terminal close 4500', async () => {
    const c = await raw(null);
    expect(await c.closed).toBe(CloseCode.Unauthorized);
    expect(c.frames.some((f) => errorOf(f) === ErrorCode.Unauthorized)).toBe(true);
  });

  it('refuses a forged signature', async () => {
    const forged = await new SignJWT({ role: 'ops' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setIssuer('flashcast')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-real-secret-at-all'));
    const c = await raw(forged);
    expect(await c.closed).toBe(CloseCode.Unauthorized);
  });

  it('refuses alg:none', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', role: 'ops', iss: 'flashcast', exp: 9e9 })}.`;
    const c = await raw(none);
    expect(await c.closed).toBe(CloseCode.Unauthorized);
  });

  it('refuses an expired token with TOKEN_EXPIRED (4501)', async () => {
    const expired = await new SignJWT({ role: 'viewer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('late')
      .setIssuer('flashcast')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const c = await raw(expired);
    expect(await c.closed).toBe(CloseCode.TokenExpired);
    expect(c.frames.some((f) => errorOf(f) === ErrorCode.TokenExpired)).toBe(true);
  });

  it('refuses garbage and a host token without rooms', async () => {
    expect(await (await raw('a.b.c')).closed).toBe(CloseCode.Unauthorized);
    const hostNoRooms = await new SignJWT({ role: 'host' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('h')
      .setIssuer('flashcast')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect(await (await raw(hostNoRooms)).closed).toBe(CloseCode.Unauthorized);
    await expectBystanderAlive();
  });

  it('keeps a token to its rooms: ROOM_NOT_ALLOWED', async () => {
    const c = await raw(await mint({ sub: 'limited', role: 'viewer', rooms: ['a'] }));
    c.send({ v: 1, rid: 1, join: { room: 'b' } });
    expect(errorOf(await c.reply(1))).toBe(ErrorCode.RoomNotAllowed);
    c.send({ v: 1, rid: 2, join: { room: 'a' } });
    expect((await c.reply(2)).joined?.room).toBe('a');
  });
});

describe('frames', () => {
  it('answers garbage bytes with BAD_FRAME and keeps the connection', async () => {
    const c = await viewerRaw();
    c.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    await c.next((f) => errorOf(f) === ErrorCode.BadFrame);
    c.send({ v: 1, rid: 5, ping: { clientTime: 2 } });
    expect((await c.reply(5)).pong).toBeTruthy();
  });

  it('answers a truncated protobuf with BAD_FRAME', async () => {
    const c = await viewerRaw();
    const full = encodeClientFrame({ rid: 3, chat: { room: 'calm', text: 'a fairly long message to cut in half' } });
    c.sendRaw(Buffer.from(full.subarray(0, full.length - 10)));
    await c.next((f) => errorOf(f) === ErrorCode.BadFrame);
  });

  it('answers text frames with BAD_FRAME', async () => {
    const c = await viewerRaw();
    c.sendRaw('{"join":"calm"}', false);
    await c.next((f) => errorOf(f) === ErrorCode.BadFrame);
  });

  it('answers an unknown message type with UNKNOWN_MESSAGE', async () => {
    const c = await viewerRaw();
    // A frame from a newer client: field 1000 is a message kind this server does not know.
    const frame = Buffer.concat([Buffer.from(encodeClientFrame({ rid: 9 })), Buffer.from([0xc2, 0x3e, 0x00])]);
    c.sendRaw(frame);
    expect(errorOf(await c.reply(9))).toBe(ErrorCode.UnknownMessage);
  });

  it('closes a client on an unsupported protocol version (4504)', async () => {
    const c = await viewerRaw();
    c.send({ v: 2, rid: 4, ping: { clientTime: 1 } });
    expect(errorOf(await c.reply(4))).toBe(ErrorCode.UnsupportedVersion);
    expect(await c.closed).toBe(CloseCode.UnsupportedVersion);
  });

  it('closes a client that keeps sending garbage (4503)', async () => {
    const c = await viewerRaw();
    for (let i = 0; i < 10; i++) c.sendRaw(Buffer.from([0xff, 0xfe, 0xfd]));
    expect(await c.closed).toBe(CloseCode.ProtocolViolation);
    await expectBystanderAlive();
  });

  it('closes a client sending a frame over the size limit, others unaffected', async () => {
    const c = await viewerRaw();
    c.send({ v: 1, rid: 1, chat: { room: 'calm', text: 'x'.repeat(5000) } });
    const code = await c.closed;
    // uWebSockets.js drops the connection at once (1006 seen by the client) or sends 1009.
    expect([1006, 1009]).toContain(code);
    await expectBystanderAlive();
  });

  it('rejects bad arguments with INVALID_ARGUMENT', async () => {
    const c = await viewerRaw();
    c.send({ v: 1, rid: 1, join: { room: '../../etc' } });
    expect(errorOf(await c.reply(1))).toBe(ErrorCode.InvalidArgument);
    c.send({ v: 1, rid: 2, join: { room: 'x'.repeat(65) } });
    expect(errorOf(await c.reply(2))).toBe(ErrorCode.InvalidArgument);
    c.send({ v: 1, rid: 3, join: { room: 'calm' } });
    await c.reply(3);
    c.send({ v: 1, rid: 4, react: { room: 'calm', kind: flashcast.ReactionKind.LIKE, count: 1000 } });
    expect(errorOf(await c.reply(4))).toBe(ErrorCode.InvalidArgument);
    c.send({ v: 1, rid: 5, react: { room: 'calm', kind: 42 as flashcast.ReactionKind, count: 1 } });
    expect(errorOf(await c.reply(5))).toBe(ErrorCode.InvalidArgument);
    c.send({ v: 1, rid: 6, leave: { room: 'never-joined' } });
    expect(errorOf(await c.reply(6))).toBe(ErrorCode.NotJoined);
  });

  it('limits rooms per connection: TOO_MANY_ROOMS', async () => {
    const c = await viewerRaw();
    for (let i = 0; i < 8; i++) {
      c.send({ v: 1, rid: 100 + i, join: { room: `many${i}` } });
      await c.reply(100 + i);
    }
    const codes = [];
    for (let i = 8; i < 10; i++) {
      c.send({ v: 1, rid: 100 + i, join: { room: `many${i}` } });
      codes.push(errorOf(await c.reply(100 + i)));
    }
    expect(codes.some((code) => code === ErrorCode.TooManyRooms || code === ErrorCode.RateLimited)).toBe(true);
  });

  it('answers a flood with RATE_LIMITED, then closes it (4004)', async () => {
    const c = await viewerRaw();
    for (let i = 0; i < 400; i++) c.send({ v: 1, rid: 0, ping: { clientTime: i } });
    expect(await c.closed).toBe(CloseCode.Flood);
    expect(c.frames.some((f) => errorOf(f) === ErrorCode.RateLimited && (f.error?.retryAfterMs ?? 0) > 0)).toBe(true);
    await expectBystanderAlive();
  });
});

describe('HTTP API', () => {
  const call = async (method: string, path: string, body?: unknown, token?: string, raw?: string) => {
    const res = await fetch(`${gw.http}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  it('without commerce, a pin answers UNAVAILABLE and nothing is broadcast; room reads need a token', async () => {
    const token = await mint({ sub: 'h-http', role: 'host', rooms: ['httproom'] });
    const pin = await call('POST', '/v1/rooms/httproom/pin', { productId: 'p9' }, token);
    expect([pin.status, pin.body.error.code]).toEqual([503, ErrorCode.Unavailable]);
    expect((await call('GET', '/v1/rooms/httproom')).status).toBe(401);
    // nothing was published: the room has no stream, and reading it creates none
    const none = await call('GET', '/v1/rooms/httproom', undefined, token);
    expect([none.status, none.body.error.code]).toEqual([404, ErrorCode.RoomNotFound]);
    const state = await call('PUT', '/v1/rooms/httproom/state', { phase: 'LIVE', title: 'Bags' }, token);
    expect(state.status).toBe(200);
    const room = await call('GET', '/v1/rooms/httproom', undefined, token);
    expect(room.status).toBe(200);
    expect(room.body.snapshot.pin ?? null).toBeNull();
  });

  it('answers with stable codes: 401, 403, 400, 404, 405, 413', async () => {
    const viewerToken = await mint({ sub: 'v-http', role: 'viewer' });
    const hostToken = await mint({ sub: 'h-http2', role: 'host', rooms: ['r2'] });
    expect((await call('POST', '/v1/rooms/r2/announcements', { text: 'hi' })).body.error.code).toBe(ErrorCode.Unauthorized);
    expect((await call('POST', '/v1/rooms/r2/announcements', { text: 'hi' }, 'forged.token.x')).status).toBe(401);
    const forbidden = await call('POST', '/v1/rooms/r2/announcements', { text: 'hi' }, viewerToken);
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, ErrorCode.Forbidden]);
    const invalid = await call('POST', '/v1/rooms/r2/pin', { product: { productId: 'p', price: { amount: -1, currency: 'USD' } } }, hostToken);
    expect([invalid.status, invalid.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
    const badJson = await call('POST', '/v1/rooms/r2/announcements', undefined, hostToken, '{"text":');
    expect([badJson.status, badJson.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
    expect((await call('GET', '/v1/nothing-here')).status).toBe(404);
    expect((await call('DELETE', '/v1/rooms/r2/announcements')).status).toBe(405);
    const huge = await call('POST', '/v1/rooms/r2/announcements', undefined, hostToken, JSON.stringify({ text: 'x'.repeat(70_000) }));
    expect([huge.status, huge.body.error.code]).toEqual([413, ErrorCode.FrameTooLarge]);
  });

  it('checks ids at the edge: %00, %ZZ, over-long and empty path ids answer 400, never 500', async () => {
    const hostToken = await mint({ sub: 'h-ids', role: 'host', rooms: ['idroom'] });
    for (const bad of ['%00', '%ZZ', 'x'.repeat(65), 'a%2Fb', '%F0%9F%98%80', 'a%20b']) {
      const r = await call('GET', `/v1/rooms/${bad}`, undefined, hostToken);
      expect([r.status, r.body.error.code], bad).toEqual([400, ErrorCode.InvalidArgument]);
    }
    const empty = await call('POST', '/v1/rooms//announcements', { text: 'hi' }, hostToken);
    expect([empty.status, empty.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
    const unpin = await call('DELETE', '/v1/rooms/idroom/pin/%00', undefined, hostToken);
    expect([unpin.status, unpin.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
  });

  it('sanitises text: NUL, lone surrogates and bidi overrides are dropped; nothing left is refused', async () => {
    const hostToken = await mint({ sub: 'h-text', role: 'host', rooms: ['textroom'], name: 'Ho\u202Est\u0000' });
    const only = await call('POST', '/v1/rooms/textroom/announcements', { text: '\u0000\u202E\uD800 ' }, hostToken);
    expect([only.status, only.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
    const ann = await call('POST', '/v1/rooms/textroom/announcements', { text: 'Sale\u0000 \u202Eon\uDC00 now' }, hostToken);
    expect(ann.status).toBe(200);
    const state = await call('PUT', '/v1/rooms/textroom/state', { phase: 'LIVE', title: 'T\u0007itle\u2066' }, hostToken);
    expect(state.status).toBe(200);
    const room = await call('GET', '/v1/rooms/textroom', undefined, hostToken);
    expect(room.body.snapshot.announcement.text).toBe('Sale on now');
    expect(room.body.snapshot.state.title).toBe('Title');
    const c = await viewerRaw('text-viewer');
    c.send({ v: 1, rid: 1, join: { room: 'textroom' } });
    await c.reply(1);
    c.send({ v: 1, rid: 2, chat: { room: 'textroom', text: 'e\u0301\u0000 \u202Dhi\u2069' } });
    expect((await c.reply(2)).chatAccepted?.message?.text).toBe('\u00E9 hi');
    c.send({ v: 1, rid: 3, chat: { room: 'textroom', text: '\u0000\u0001\u202E' } });
    expect(errorOf(await c.reply(3))).toBe(ErrorCode.InvalidArgument);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.http}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${gw.http}/metrics`)).text();
    for (const name of ['flashcast_connections', 'flashcast_frames_in_total', 'flashcast_frames_out_total', 'flashcast_dropped_total', 'flashcast_backpressure_closes_total', 'flashcast_fanout_latency_seconds']) {
      expect(metrics).toContain(name);
    }
  });
});
