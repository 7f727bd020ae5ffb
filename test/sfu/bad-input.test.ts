import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { attachSfu } from '../../sfu/attachSfu.js';
import { SfuService } from '../../sfu/SfuService.js';
import { RawClient, mint } from '../helpers/clients.js';
import { startGateway } from '../helpers/InProcessGateway.js';

/** Media requests that must fail cleanly, with stable codes, leaving the workers unharmed. */
let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
let rid = 100;
const ROOM = 'bad-media';
const { MediaDirection } = flashcast;
const GOOD_DTLS = JSON.stringify({
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':') }],
});

beforeAll(async () => {
  gw = await startGateway();
  sfu = await SfuService.create({ workers: 2, rtcMinPort: 43000, rtcMaxPort: 43999, maxTransportsPerSession: 4, transportsPerSecond: 4 });
  attachSfu(gw.node.gateway, gw.node.router, sfu);
});

afterAll(async () => {
  sfu?.close();
  await gw?.close();
});

async function client(sub: string, role: 'host' | 'viewer', rooms?: string[], join = true): Promise<RawClient> {
  const c = await RawClient.open(gw.url, await mint({ sub, role, rooms }));
  await c.next((f) => f.msg === 'connected');
  if (join) {
    const r = ++rid;
    c.send({ rid: r, join: { room: ROOM } });
    expect((await c.reply(r)).msg).toBe('joined');
  }
  return c;
}

async function media(c: RawClient, op: Omit<flashcast.IMediaRequest, 'room'>, room = ROOM): Promise<flashcast.ServerFrame> {
  const r = ++rid;
  c.send({ rid: r, media: { room, ...op } });
  return c.reply(r);
}

const code = (f: flashcast.ServerFrame) => (f.msg === 'error' ? f.error!.code : 'ok');

async function transport(c: RawClient, direction: flashcast.MediaDirection): Promise<string> {
  const reply = await media(c, { createTransport: { direction } });
  expect(code(reply)).toBe('ok');
  return reply.media!.transport!.id!;
}

describe('media bad input', () => {
  it('viewers may not produce; hosts only in their token rooms; requests need a join', async () => {
    const viewer = await client('v-bad', 'viewer');
    expect(code(await media(viewer, { createTransport: { direction: MediaDirection.SEND } }))).toBe('FORBIDDEN');
    const recv = await transport(viewer, MediaDirection.RECV);
    const rtp = JSON.stringify({ codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: 1 }] });
    expect(code(await media(viewer, { produce: { transportId: recv, kind: 'video', rtpParametersJson: rtp } }))).toBe('FORBIDDEN');

    const otherHost = await client('h-other', 'host', ['elsewhere'], false);
    expect(code(await media(otherHost, { capabilities: {} }))).toBe('ROOM_NOT_ALLOWED');
    const host = await client('h-bad', 'host', [ROOM], false);
    expect(code(await media(host, { capabilities: {} }))).toBe('NOT_JOINED');
    const r = ++rid;
    host.send({ rid: r, join: { room: ROOM } });
    await host.reply(r);
    const send = await transport(host, MediaDirection.SEND);
    // Producing on a receive transport, garbage RTP parameters: clear errors.
    expect(code(await media(host, { produce: { transportId: send, kind: 'video', rtpParametersJson: '{"codecs":[]}' } }))).toBe('INVALID_ARGUMENT');
    expect(code(await media(host, { produce: { transportId: send, kind: 'video', rtpParametersJson: 'not json' } }))).toBe('INVALID_ARGUMENT');
    expect(code(await media(host, { produce: { transportId: send, kind: 'smell', rtpParametersJson: rtp } }))).toBe('INVALID_ARGUMENT');
    const produced = await media(host, { produce: { transportId: send, kind: 'video', rtpParametersJson: rtp } });
    expect(code(produced)).toBe('ok');
    expect(code(await media(viewer, { produce: { transportId: send, kind: 'video', rtpParametersJson: rtp } }))).toBe('FORBIDDEN');
    viewer.close();
    host.close();
    otherHost.close();
  });

  it('consuming an unknown producer, unknown ids, a second connect and bogus DTLS are refused', async () => {
    const viewer = await client('v-ids', 'viewer');
    const recv = await transport(viewer, MediaDirection.RECV);
    const caps = JSON.stringify({ codecs: [], headerExtensions: [] });
    expect(code(await media(viewer, { consume: { transportId: recv, producerId: 'f0f0f0f0-0000-4000-8000-000000000000', rtpCapabilitiesJson: caps } }))).toBe('PRODUCER_NOT_FOUND');
    expect(code(await media(viewer, { consume: { transportId: 'nope', producerId: 'x', rtpCapabilitiesJson: caps } }))).toBe('TRANSPORT_NOT_FOUND');
    expect(code(await media(viewer, { consume: { transportId: recv, producerId: '../../etc', rtpCapabilitiesJson: caps } }))).toBe('INVALID_ARGUMENT');
    expect(code(await media(viewer, { resume: { consumerId: 'abc' } }))).toBe('CONSUMER_NOT_FOUND');
    expect(code(await media(viewer, { close: { id: 'abc' } }))).toBe('TRANSPORT_NOT_FOUND');
    expect(code(await media(viewer, {}))).toBe('INVALID_ARGUMENT');
    expect(code(await media(viewer, { capabilities: {} }, 'bad room!'))).toBe('INVALID_ARGUMENT'); // ids are checked at the edge

    for (const bogus of [
      'not json',
      '[]',
      '{"role":"client"}',
      '{"role":"sideways","fingerprints":[{"algorithm":"sha-256","value":"AA:BB"}]}',
      '{"role":"client","fingerprints":[{"algorithm":"md5","value":"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"}]}',
      '{"role":"client","fingerprints":[{"algorithm":"sha-256","value":"zz"}]}',
      'x'.repeat(13_000),
    ]) {
      expect(code(await media(viewer, { connectTransport: { transportId: recv, dtlsParametersJson: bogus } })), bogus.slice(0, 40)).toBe('INVALID_ARGUMENT');
    }
    expect(code(await media(viewer, { connectTransport: { transportId: recv, dtlsParametersJson: GOOD_DTLS } }))).toBe('ok');
    expect(code(await media(viewer, { connectTransport: { transportId: recv, dtlsParametersJson: GOOD_DTLS } }))).toBe('ALREADY_CONNECTED');
    viewer.close();
  });

  it('a flood of transport creations is rate limited and capped; the workers are unharmed', async () => {
    const pids = sfu.pool.workers.map((w) => w.worker.pid);
    const flooder = await client('v-flood', 'viewer');
    const rids: number[] = [];
    for (let i = 0; i < 60; i++) {
      const r = ++rid;
      rids.push(r);
      flooder.send({ rid: r, media: { room: ROOM, createTransport: { direction: MediaDirection.RECV } } });
    }
    const codes = await Promise.all(rids.map(async (r) => code(await flooder.reply(r, 10_000))));
    const counts = codes.reduce<Record<string, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});
    expect(counts.ok).toBe(4); // maxTransportsPerSession
    expect((counts.RATE_LIMITED ?? 0) + (counts.MEDIA_LIMIT_REACHED ?? 0)).toBe(56);
    expect(counts.RATE_LIMITED).toBeGreaterThan(40);
    const session = [...sfu.sessions.values()].find((s) => s.userId === 'v-flood')!;
    expect(session.transports.size).toBe(4);

    // Workers alive, same processes; another viewer is served normally.
    expect(sfu.pool.workers.map((w) => w.worker.pid)).toEqual(pids);
    expect(sfu.pool.workers.every((w) => !w.worker.died && !w.worker.closed)).toBe(true);
    const other = await client('v-after', 'viewer');
    await transport(other, MediaDirection.RECV);
    // Closing the socket releases every transport of the session.
    flooder.close();
    other.close();
    await new Promise((r) => setTimeout(r, 300));
    expect([...sfu.sessions.values()].filter((s) => s.userId === 'v-flood' || s.userId === 'v-after')).toHaveLength(0);
  });
});
