import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ConnectionClosedError, ErrorCode, RoomEvent, type FlashcastClient } from '../client-sdk/index.js';
import { TokenService } from '../common/auth/TokenService.js';
import { DEV_SECRET } from '../common/config.js';
import { RoomStore } from '../server/realtime/RoomStore.js';
import { JWT_SECRET, REDIS_URL, deletePrefix, uniquePrefix, waitFor } from './helpers/env.js';
import { GatewayProcess } from './helpers/GatewayProcess.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { metricValue } from './helpers/metrics.js';
import { RawClient, mint, sdkClient } from './helpers/clients.js';
import { seedDeal, startStack } from './commerce/stack.js';
import { PG_URL, principal } from './commerce/helpers.js';

/**
 * Fail safe: no process runs on the public development secret by accident, the
 * listen port is exclusive, every process reads one config, reads create no
 * state, and one user's many sockets are one viewer under a per-user cap.
 */

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(() => {
  redis.disconnect();
});

/** An environment with neither a secret nor the dev flag, whatever the test runner has. */
function bareEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, VITEST: '', LOG_LEVEL: 'warn', FLASHCAST_JWT_SECRET: '', FLASHCAST_DEV: '', ...env };
}

/** Runs `flashcast <args>` to its exit (SIGKILL after `timeoutMs`: code null). */
function runCli(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: bareEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Every key under a prefix (SCAN). */
async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('the development secret', () => {
  it('a gateway without FLASHCAST_JWT_SECRET exits non-zero and says what to set', async () => {
    const prefix = uniquePrefix('fsdev');
    const start = GatewayProcess.start({ REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_JWT_SECRET: '', FLASHCAST_DEV: '' });
    await expect(start).rejects.toThrow(/exited with 1[\s\S]*FLASHCAST_JWT_SECRET is not set[\s\S]*FLASHCAST_DEV=1/);
    // The public development secret itself is refused the same way.
    const explicit = GatewayProcess.start({ REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_JWT_SECRET: DEV_SECRET, FLASHCAST_DEV: '' });
    await expect(explicit).rejects.toThrow(/exited with 1[\s\S]*public development secret/);
    await deletePrefix(prefix);
  });

  it('with FLASHCAST_DEV=1 a gateway starts on the development secret, with a banner', async () => {
    const prefix = uniquePrefix('fsdev');
    const gw = await GatewayProcess.start({ REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_JWT_SECRET: '', FLASHCAST_DEV: '1' });
    try {
      expect(gw.output).toContain('DEVELOPMENT MODE');
      // Tokens minted with the development secret are accepted: this really is dev mode.
      const token = new TokenService(DEV_SECRET).mintSync({ sub: 'dev-user', role: 'viewer' });
      const client = await RawClient.open(gw.url, token);
      expect((await client.next((f) => f.msg === 'connected' || f.msg === 'error')).msg).toBe('connected');
      client.close();
    } finally {
      await gw.terminate();
      await deletePrefix(prefix);
    }
  });

  it('`flashcast worker`, `sfu` and `token` refuse to run without a secret', async () => {
    const [worker, sfu, token] = await Promise.all([
      runCli(['worker'], { REDIS_URL }),
      runCli(['sfu'], { REDIS_URL }),
      runCli(['token', '--user', 'u1', '--role', 'ops'], {}),
    ]);
    for (const run of [worker, sfu, token]) {
      expect(run.code).toBe(1);
      expect(run.output).toContain('FLASHCAST_JWT_SECRET is not set');
    }
    // In dev mode `flashcast token` mints with the development secret.
    const dev = await runCli(['token', '--user', 'u1', '--role', 'viewer'], { FLASHCAST_DEV: '1' });
    expect(dev.code).toBe(0);
    expect(new TokenService(DEV_SECRET).verifySync(dev.output.trim().split('\n').pop()!).userId).toBe('u1');
  });
});

describe('an exclusive listen port', () => {
  it('a second gateway on the same port exits non-zero; the first keeps serving', async () => {
    const prefix = uniquePrefix('fsport');
    const first = await GatewayProcess.start({ REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix });
    try {
      const second = GatewayProcess.start({ REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, PORT: String(first.port) });
      await expect(second).rejects.toThrow(new RegExp(`exited with 1[\\s\\S]*could not listen on 127\\.0\\.0\\.1:${first.port}`));
      for (let i = 0; i < 5; i++) {
        const health = (await (await fetch(`${first.http}/healthz`)).json()) as { nodeId: string };
        expect(health.nodeId).toBe(first.nodeId);
      }
      const client = await RawClient.open(first.url, await mint({ sub: 'port-check', role: 'viewer' }));
      expect((await client.next((f) => f.msg === 'connected')).connected?.nodeId).toBe(first.nodeId);
      client.close();
    } finally {
      await first.terminate();
      await deletePrefix(prefix);
    }
  });
});

describe('room reads', () => {
  let gw: Awaited<ReturnType<typeof startGateway>>;
  const clients: FlashcastClient[] = [];

  beforeAll(async () => {
    gw = await startGateway();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await gw.close();
  });

  const get = async (roomId: string, token?: string) => {
    const res = await fetch(`${gw.http}/v1/rooms/${roomId}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as { error?: { code: string }; epoch?: string; offset?: number } };
  };

  it('GET /v1/rooms/<unknown> needs a token and answers 404 without creating any key', async () => {
    const viewerToken = await mint({ sub: 'reader', role: 'viewer' });
    const before = await keysUnder(gw.prefix);
    const anonymous = await get('no-such-room-1');
    expect([anonymous.status, anonymous.body.error?.code]).toEqual([401, ErrorCode.Unauthorized]);
    const unknown = await get('no-such-room-1', viewerToken);
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, ErrorCode.RoomNotFound]);
    expect(await keysUnder(gw.prefix)).toEqual(before);
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => get(`random-${i}-${Date.now()}`, viewerToken).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([404]));
    expect(await keysUnder(gw.prefix)).toEqual(before);
  });

  it('GET /v1/rooms/<room> answers a room with a stream, to tokens that may join it', async () => {
    await gw.node.publisher.publish('open-room', { announcement: { text: 'hello' } });
    const ok = await get('open-room', await mint({ sub: 'reader2', role: 'viewer' }));
    expect(ok.status).toBe(200);
    expect(ok.body.offset).toBe(1);
    expect(ok.body.epoch).not.toBe('');
    const otherHost = await get('open-room', await mint({ sub: 'h-else', role: 'host', rooms: ['elsewhere'] }));
    expect([otherHost.status, otherHost.body.error?.code]).toEqual([403, ErrorCode.RoomNotAllowed]);
  });

  it('joining a room nobody opened leaves nothing durable behind', async () => {
    const before = await keysUnder(gw.prefix);
    const client = sdkClient(gw.url, await mint({ sub: 'wanderer', role: 'viewer' }));
    clients.push(client);
    await client.connect();
    const room = await client.join('never-opened');
    expect([room.epoch, room.offset]).toEqual(['', 0]);
    // While the viewer is there, only its presence exists, and it is short-lived.
    const during = (await keysUnder(gw.prefix)).filter((k) => !before.includes(k));
    for (const key of during) {
      expect(key).toMatch(/:presence(:|$)/);
      expect(await redis.ttl(key)).toBeLessThanOrEqual(3600);
    }
    client.close();
    await waitFor(async () => JSON.stringify(await keysUnder(gw.prefix)) === JSON.stringify(before), 10_000, 'presence to go');
  });

  it('a viewer who joined before the stream existed takes its first events in order, without a resync', async () => {
    const client = sdkClient(gw.url, await mint({ sub: 'early-bird', role: 'viewer' }));
    clients.push(client);
    await client.connect();
    const room = await client.join('opens-later');
    expect(room.epoch).toBe('');
    let snapshots = 0;
    room.on(RoomEvent.Snapshot, () => snapshots++);
    const texts: string[] = [];
    room.on(RoomEvent.Announcement, (a) => texts.push(`${a.text}@${room.offset}`));
    await gw.node.publisher.publish('opens-later', { announcement: { text: 'first' } });
    await waitFor(() => texts.length === 1, 5000, 'the first event');
    await gw.node.publisher.publish('opens-later', { announcement: { text: 'second' } });
    await waitFor(() => texts.length === 2, 5000, 'the second event');
    expect(texts).toEqual(['first@1', 'second@2']);
    expect(room.epoch).not.toBe('');
    expect(snapshots).toBe(0);
  });
});

describe('connections and viewers per user', () => {
  let gw: Awaited<ReturnType<typeof startGateway>>;
  const clients: FlashcastClient[] = [];
  const raws: RawClient[] = [];

  beforeAll(async () => {
    gw = await startGateway();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of raws) r.close();
    await gw.close();
  });

  it('refuses a user\'s 11th and 12th socket (4505), counts the user once, and frees a slot on close', async () => {
    const token = await mint({ sub: 'many-tabs', role: 'viewer' });
    const tabs = Array.from({ length: 10 }, () => sdkClient(gw.url, token));
    clients.push(...tabs);
    await Promise.all(tabs.map((c) => c.connect()));
    for (let i = 0; i < 2; i++) {
      const extra = await RawClient.open(gw.url, token);
      raws.push(extra);
      expect(await extra.closed).toBe(CloseCode.TooManyConnections);
      expect(extra.frames.find((f) => f.error)?.error?.code).toBe(ErrorCode.TooManyConnections);
      expect(extra.frames.some((f) => f.connected)).toBe(false);
    }
    // The SDK surfaces the refusal as terminal.
    const sdkExtra = sdkClient(gw.url, token);
    clients.push(sdkExtra);
    const refused = await sdkExtra.connect().then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionClosedError);
    expect((refused as ConnectionClosedError).closeCode).toBe(CloseCode.TooManyConnections);

    // Ten sockets of one user in a room are one viewer.
    const rooms = await Promise.all(tabs.map((c) => c.join('crowd')));
    const other = sdkClient(gw.url, await mint({ sub: 'someone-else', role: 'viewer' }));
    clients.push(other);
    await other.connect();
    const otherRoom = await other.join('crowd');
    await waitFor(() => otherRoom.state.viewers >= 2, 5000, 'stats with both users');
    expect(otherRoom.state.viewers).toBe(2);
    await waitFor(() => rooms[0].state.viewers >= 2, 5000, 'stats on the first tab');
    expect(rooms[0].state.viewers).toBe(2);

    // A closed tab frees its slot.
    tabs.shift()!.close();
    await waitFor(async () => (await metricValue(gw.http, 'flashcast_connections')) === 10, 5000, 'the server to see the close');
    const again = await RawClient.open(gw.url, token);
    raws.push(again);
    expect((await again.next((f) => f.msg === 'connected' || f.msg === 'error')).msg).toBe('connected');

    // When all of the user's sockets are gone, the room counts the other user only.
    for (const tab of tabs) tab.close();
    again.close();
    await waitFor(() => otherRoom.state.viewers === 1, 5000, 'the user to leave the count');
  });
});

describe('one config for the settlement worker', () => {
  it('`flashcast worker` trims room history to FLASHCAST_HISTORY_SIZE with FLASHCAST_HISTORY_TTL_S', async () => {
    const s = await startStack({ settle: false });
    const child = spawn(process.execPath, [CLI, 'worker'], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: bareEnv({
        REDIS_URL, DATABASE_URL: PG_URL, DATABASE_SCHEMA: s.schema, FLASHCAST_REDIS_PREFIX: s.prefix, FLASHCAST_JWT_SECRET: JWT_SECRET,
        FLASHCAST_HISTORY_SIZE: '10', FLASHCAST_HISTORY_TTL_S: '120', LOG_LEVEL: 'error',
      }),
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
        child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
      });
      // A room whose stream already holds 30 events, written with a longer history.
      const store = new RoomStore(s.redis, { prefix: s.prefix, historySize: 100, historyTtlSeconds: 3600 });
      for (let i = 1; i <= 30; i++) await store.publishCritical('room1', new Uint8Array(0));
      expect(await s.redis.llen(s.keys.room('room1', 'hist'))).toBe(30);

      // One declined payment: the worker releases the hold and publishes the stock to room1.
      const { product } = await seedDeal(s, { dealStock: 5 });
      await s.commerce.methods.save('buyer-x', { type: 'card', token: 'tok_decline' });
      const r = await s.commerce.checkout.reserve(principal('buyer-x'), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k1' });
      expect(r.code).toBe('');
      await waitFor(async () => Number(await s.redis.hget(s.keys.room('room1', 'meta'), 'o')) > 30, 20_000, 'the worker to publish');
      expect(await s.redis.llen(s.keys.room('room1', 'hist'))).toBe(10);
      const ttl = await s.redis.ttl(s.keys.room('room1', 'hist'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      await s.close();
    }
    // SIGTERM went to the worker's one shutdown: jobs, publisher, pool and Redis closed, exit 0.
    expect(child.exitCode).toBe(0);
  }, 60_000);
});
