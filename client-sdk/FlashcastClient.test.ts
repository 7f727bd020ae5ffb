import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, isReconnectCode } from '../protocol/codes.js';
import { ScriptedGateway } from '../test/helpers/ScriptedGateway.js';
import type { ScriptedSocket } from '../test/helpers/ScriptedSocket.js';
import { ClientEvent, type ClientEvents, type FlashcastClient } from './FlashcastClient.js';
import { ConnectionClosedError, FlashcastRequestError, RequestTimeoutError } from './errors.js';
import type { ReconnectContext } from './ReconnectPolicy.js';

/**
 * FlashcastClient against a real WebSocket server speaking the protocol
 * (ScriptedGateway): requests and replies, timeouts, the offline queue, the
 * ping timeout, close codes and the reconnect policy, as an app sees them.
 */

let gw: ScriptedGateway;

beforeEach(async () => {
  gw = await ScriptedGateway.start();
});

afterEach(async () => {
  await gw.close();
});

/** The next emission of a client event. */
function next<K extends keyof ClientEvents>(client: FlashcastClient, event: K): Promise<ClientEvents[K]> {
  return new Promise((resolve) => client.once(event, (...args) => resolve(args)));
}

/** Every Disconnected event of a client, in order. */
function disconnects(client: FlashcastClient): ClientEvents[ClientEvent.Disconnected][0][] {
  const seen: ClientEvents[ClientEvent.Disconnected][0][] = [];
  client.on(ClientEvent.Disconnected, (d) => seen.push(d));
  return seen;
}

async function connected(options: Parameters<ScriptedGateway['client']>[0] = {}): Promise<{ client: FlashcastClient; sock: ScriptedSocket }> {
  const client = gw.client(options);
  await client.connect();
  return { client, sock: await gw.socket(0) };
}

describe('requests', () => {
  it('connects with a fresh token and matches replies to requests by rid, whatever their order', async () => {
    let minted = 0;
    const { client, sock } = await connected({ token: async () => `token-${++minted}` });
    expect(client.state).toBe('connected');
    expect(client.session?.userId).toBe('u1');
    expect(sock.token).toBe('token-1');

    const first = client.request({ announce: { room: 'r1', text: 'first' } });
    const second = client.request({ announce: { room: 'r1', text: 'second' } });
    const f1 = await sock.takeMsg('announce');
    const f2 = await sock.takeMsg('announce');
    expect([f1.announce?.text, f2.announce?.text]).toEqual(['first', 'second']);
    expect(f1.rid).not.toBe(f2.rid);
    sock.reply(f2, { ok: { offset: 8 } });
    sock.reply(f1, { ok: { offset: 7 } });
    expect(Number((await first).ok?.offset)).toBe(7);
    expect(Number((await second).ok?.offset)).toBe(8);
  });

  it('rejects an error reply with its stable code, and surfaces unsolicited errors as events', async () => {
    const { client, sock } = await connected();
    const refused = client.request({ pin: { room: 'r1', product: { productId: 'p1' } } });
    sock.fail(await sock.takeMsg('pin'), ErrorCode.Forbidden, 'hosts only');
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlashcastRequestError);
    expect(error).toMatchObject({ code: ErrorCode.Forbidden, message: 'hosts only' });

    const unsolicited = next(client, ClientEvent.Error);
    sock.send({ error: { code: ErrorCode.RateLimited, message: 'slow down', retryAfterMs: 500 } });
    const [event] = await unsolicited;
    expect(event).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: 500 });
  });

  it('fails a request that gets no reply in time with RequestTimeoutError and ignores the late reply', async () => {
    const { client, sock } = await connected({ requestTimeoutMs: 150 });
    const slow = client.request({ announce: { room: 'r1', text: 'slow' } });
    const frame = await sock.takeMsg('announce');
    await expect(slow).rejects.toBeInstanceOf(RequestTimeoutError);
    sock.reply(frame, { ok: { offset: 1 } }); // too late: nobody waits for it
    const after = client.request({ announce: { room: 'r1', text: 'after' } });
    sock.reply(await sock.takeMsg('announce'), { ok: { offset: 2 } });
    expect(Number((await after).ok?.offset)).toBe(2);
    expect(client.state).toBe('connected');
  });
});

describe('offline queue', () => {
  it('keeps requests made while reconnecting and sends them in order once the rooms resumed', async () => {
    const { client, sock } = await connected({ maxQueue: 2 });
    const joining = client.join('r1');
    sock.joined(await sock.takeMsg('join'), { offset: 4, epoch: 'e1', snapshot: {} });
    await joining;

    gw.greet = () => ({ hold: true });
    const lost = next(client, ClientEvent.Disconnected);
    sock.close(CloseCode.Draining, 'deploy');
    expect((await lost)[0]).toMatchObject({ code: CloseCode.Draining, willReconnect: true });
    const q1 = client.request({ announce: { room: 'r1', text: 'q1' } });
    const q2 = client.request({ announce: { room: 'r1', text: 'q2' } });
    // Beyond maxQueue a request fails at once instead of piling up.
    await expect(client.request({ announce: { room: 'r1', text: 'q3' } })).rejects.toMatchObject({ code: ErrorCode.Unavailable });

    const sock1 = await gw.socket(1);
    expect(sock1.sent('announce')).toHaveLength(0); // no session yet
    sock1.send({ connected: { sessionId: 's1', userId: 'u1', pingIntervalMs: 20_000 } });
    // The room resumes first, from its position...
    const rejoin = await sock1.take((f) => f.msg !== 'ping');
    expect(rejoin.join).toMatchObject({ room: 'r1', recover: true, offset: 4, epoch: 'e1' });
    expect(sock1.sent('announce')).toHaveLength(0);
    sock1.joined(rejoin, { offset: 4, epoch: 'e1', recovered: true });
    // ...then the queue, in order.
    const a1 = await sock1.takeMsg('announce');
    const a2 = await sock1.takeMsg('announce');
    expect([a1.announce?.text, a2.announce?.text]).toEqual(['q1', 'q2']);
    sock1.reply(a1, { ok: { offset: 5 } });
    sock1.reply(a2, { ok: { offset: 6 } });
    expect(Number((await q1).ok?.offset)).toBe(5);
    expect(Number((await q2).ok?.offset)).toBe(6);
  });

  it('resends in-flight idempotent requests after a reconnect and fails the others (they may have been applied)', async () => {
    const { client, sock } = await connected();
    const chat = client.request({ chat: { room: 'r1', text: 'hi', clientMsgId: 'm1' } }, { idempotent: true });
    const announce = client.request({ announce: { room: 'r1', text: 'once' } });
    await sock.takeMsg('chat');
    await sock.takeMsg('announce');
    sock.drop(); // no reply, no close frame: 1006

    const error = await announce.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ closeCode: 1006 });
    const sock1 = await gw.socket(1);
    const again = await sock1.takeMsg('chat');
    expect(again.chat).toMatchObject({ text: 'hi', clientMsgId: 'm1' });
    sock1.reply(again, { chatAccepted: { room: 'r1', message: { id: 'c1', text: 'hi', clientMsgId: 'm1' } } });
    expect((await chat).chatAccepted?.message?.id).toBe('c1');
    expect(sock1.sent('announce')).toHaveLength(0);
  });
});

describe('keepalive', () => {
  it('gives up on a silent server after the ping timeout and reconnects', { timeout: 20_000 }, async () => {
    gw.greet = (i) => ({ connected: { sessionId: `s${i}`, userId: 'u1', pingIntervalMs: 50 } });
    const { client, sock } = await connected();
    sock.pong = false;
    const [lost] = await next(client, ClientEvent.Disconnected);
    expect(lost).toEqual({ code: CloseCode.IdleTimeout, reason: 'ping timeout', willReconnect: true });
    expect(sock.sent('ping').length).toBeGreaterThan(1);
    await gw.socket(1);
    const [again] = await next(client, ClientEvent.Connected);
    expect(again.reconnected).toBe(true);
  });
});

describe('close codes', () => {
  const cases: { code: number; reconnect: boolean }[] = [
    { code: CloseCode.Draining, reconnect: true },
    { code: CloseCode.SlowConsumer, reconnect: true },
    { code: CloseCode.InternalError, reconnect: true },
    { code: CloseCode.Flood, reconnect: true },
    { code: 1001, reconnect: true },
    { code: 1011, reconnect: true },
    { code: CloseCode.Unauthorized, reconnect: false },
    { code: CloseCode.ProtocolViolation, reconnect: false },
    { code: CloseCode.UnsupportedVersion, reconnect: false },
    { code: CloseCode.TooManyConnections, reconnect: false },
    { code: 1000, reconnect: false },
    { code: 1008, reconnect: false },
  ];

  it('reconnects after a reconnect code (to the next URL) and stops for good after a terminal one', async () => {
    const other = await ScriptedGateway.start();
    try {
      for (const { code, reconnect } of cases) {
        expect(isReconnectCode(code), `isReconnectCode(${code})`).toBe(reconnect);
        const before = { here: gw.sockets.length, there: other.sockets.length };
        const client = gw.client({ urls: [gw.url, other.url] });
        await client.connect();
        const sock = await gw.socket(before.here);
        const pending = client.request({ announce: { room: 'r1', text: 'in flight' } });
        await sock.takeMsg('announce');
        const lost = next(client, ClientEvent.Disconnected);
        sock.close(code, 'bye');
        expect((await lost)[0], `close ${code}`).toEqual({ code, reason: 'bye', willReconnect: reconnect });
        await expect(pending).rejects.toMatchObject({ closeCode: code });
        if (reconnect) {
          await other.socket(before.there); // the retry went to the other URL
          await next(client, ClientEvent.Connected);
          expect(client.state).toBe('connected');
        } else {
          expect(client.state).toBe('closed');
          await expect(client.request({ announce: { room: 'r1', text: 'after' } })).rejects.toBeInstanceOf(ConnectionClosedError);
          await expect(client.connect()).rejects.toBeInstanceOf(ConnectionClosedError);
        }
        client.close();
      }
    } finally {
      await other.close();
    }
  });

  it('follows the Disconnect frame over the close code, and refreshes an expired token only when it can', async () => {
    // Disconnect {reconnect: true} before a plain close: the client retries, reporting the told code.
    const { client, sock } = await connected({ token: async () => 'fresh' });
    const lost = next(client, ClientEvent.Disconnected);
    sock.disconnect(CloseCode.Draining, 'scale-in', true);
    expect((await lost)[0]).toEqual({ code: CloseCode.Draining, reason: 'scale-in', willReconnect: true });
    const sock1 = await gw.socket(1);
    await next(client, ClientEvent.Connected);

    // TokenExpired with a token function: reconnect with a fresh token.
    const expired = next(client, ClientEvent.Disconnected);
    sock1.disconnect(CloseCode.TokenExpired, 'token expired', false);
    expect((await expired)[0].willReconnect).toBe(true);
    expect((await gw.socket(2)).token).toBe('fresh');
    await next(client, ClientEvent.Connected);

    // TokenExpired with a fixed token: terminal.
    const fixed = gw.client({ token: 'stale' });
    await fixed.connect();
    const sock3 = await gw.socket(3);
    const gone = next(fixed, ClientEvent.Disconnected);
    sock3.disconnect(CloseCode.TokenExpired, 'token expired', false);
    expect((await gone)[0]).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired', willReconnect: false });
    expect(fixed.state).toBe('closed');
  });
});

describe('reconnect policy', () => {
  it('asks the policy before every retry and stops when it answers null (a terminal disconnect)', async () => {
    const asked: ReconnectContext[] = [];
    const { client, sock } = await connected({
      reconnectPolicy: {
        nextRetryDelay: (context) => {
          asked.push(context);
          return context.retryCount < 2 ? 5 : null;
        },
      },
    });
    const seen = disconnects(client);
    const attempts: number[] = [];
    client.on(ClientEvent.Reconnecting, ({ attempt, delayMs }) => {
      expect(delayMs).toBe(5);
      attempts.push(attempt);
    });
    // Every retry is refused by a busy node.
    gw.greet = () => ({ close: CloseCode.InternalError, reason: 'busy' });
    const closed = new Promise<void>((resolve) => client.on(ClientEvent.StateChanged, (s) => s === 'closed' && resolve()));
    const lost = next(client, ClientEvent.Disconnected);
    sock.close(CloseCode.Draining, 'deploy');
    await lost;
    const queued = client.request({ announce: { room: 'r1', text: 'queued' } });
    await closed;

    expect(asked.map(({ retryCount, closeCode, reason }) => ({ retryCount, closeCode, reason }))).toEqual([
      { retryCount: 0, closeCode: CloseCode.Draining, reason: 'deploy' },
      { retryCount: 1, closeCode: CloseCode.InternalError, reason: 'busy' },
      { retryCount: 2, closeCode: CloseCode.InternalError, reason: 'busy' },
    ]);
    expect(asked.every((c, i) => c.elapsedMs >= 0 && (i === 0 || c.elapsedMs >= asked[i - 1].elapsedMs))).toBe(true);
    expect(attempts).toEqual([1, 2]);
    expect(seen.map((d) => d.willReconnect)).toEqual([true, true, false]);
    expect(seen.at(-1)).toEqual({ code: CloseCode.InternalError, reason: 'busy', willReconnect: false });
    expect(gw.sockets).toHaveLength(3);
    await expect(queued).rejects.toMatchObject({ closeCode: CloseCode.InternalError });
  });

  it('counts retries from zero again after a session was re-established', async () => {
    const counts: number[] = [];
    const { client, sock } = await connected({
      reconnectPolicy: {
        nextRetryDelay: ({ retryCount }) => {
          counts.push(retryCount);
          return 5;
        },
      },
    });
    gw.greet = (i) => (i === 1 ? { close: CloseCode.InternalError } : { connected: { sessionId: `s${i}`, userId: 'u1', pingIntervalMs: 20_000 } });
    sock.close(CloseCode.Draining);
    await next(client, ClientEvent.Connected); // third socket
    (await gw.socket(2)).close(CloseCode.Draining);
    await next(client, ClientEvent.Connected);
    expect(counts).toEqual([0, 1, 0]);
  });

  it('rejects connect() when the policy gives up before a first session', async () => {
    gw.greet = () => ({ close: CloseCode.Flood, reason: 'later' });
    const client = gw.client({ reconnectPolicy: { nextRetryDelay: ({ retryCount }) => (retryCount === 0 ? 5 : null) } });
    const error = await client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ closeCode: CloseCode.Flood });
    expect(gw.sockets).toHaveLength(2);
  });

  it('retries with full-jitter backoff by default, within the configured bounds', async () => {
    const { client, sock } = await connected({ backoff: { baseMs: 40, maxMs: 60 } });
    gw.greet = (i) => (i < 4 ? { close: CloseCode.InternalError } : { connected: { sessionId: `s${i}`, userId: 'u1', pingIntervalMs: 20_000 } });
    const delays: number[] = [];
    client.on(ClientEvent.Reconnecting, ({ delayMs }) => delays.push(delayMs));
    sock.close(CloseCode.Draining);
    await next(client, ClientEvent.Connected);
    expect(delays).toHaveLength(4);
    // Ceilings 40, 60, 60, 60 (base * 2^n capped at max); each delay is drawn below its ceiling.
    expect(delays.every((d, n) => d >= 0 && d < Math.min(60, 40 * 2 ** n))).toBe(true);
  });
});

describe('the server clock', () => {
  it('estimates the server clock from connected, event timestamps and pongs, whatever the device clock says', async () => {
    const ahead = 90_000; // the server's clock runs 90 s ahead of this machine's
    gw.greet = (i) => ({ connected: { sessionId: `s${i}`, userId: 'u1', nodeId: 'n1', pingIntervalMs: 100, serverTime: Date.now() + ahead } });
    const { client, sock } = await connected();
    sock.pong = false;
    // connected alone: a lower bound, late by the frame's trip over loopback, never early
    expect(client.clock.synced).toBe(true);
    expect(client.clock.offsetMs).toBeLessThanOrEqual(ahead);
    expect(client.clock.offsetMs).toBeGreaterThan(ahead - 1000);
    // An event's ts is a lower bound too: a later stamp raises the estimate.
    sock.send({ event: { room: 'r1', ts: Date.now() + ahead + 300 } });
    await waitForValue(() => client.clock.offsetMs > ahead + 200);
    expect(client.clock.offsetMs).toBeLessThanOrEqual(ahead + 300);
    // A pong bounds it from both sides: its server time is 90 s ahead, so the interval holds ~ahead,
    // contradicting the (too high) event stamp: the newest sample wins.
    // (Only the latest ping's pong counts, so answer pings until one lands.)
    while (client.clock.offsetMs > ahead + 5) {
      const ping = await sock.takeMsg('ping');
      sock.send({ pong: { clientTime: ping.ping!.clientTime, serverTime: Date.now() + ahead } });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(Math.abs(client.clock.offsetMs - ahead)).toBeLessThan(50);
    const deadline = Date.now() + ahead + 10_000;
    expect(Math.abs(client.clock.until(deadline) - 10_000)).toBeLessThan(100);
    expect(Math.abs(client.clock.now() - (Date.now() + ahead))).toBeLessThan(100);
  });
});

async function waitForValue(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
