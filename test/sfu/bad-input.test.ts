import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { SfuHttpServer } from '../../sfu/SfuHttpServer.js';
import { SfuService } from '../../sfu/SfuService.js';
import { RawClient, mint, tokens } from '../helpers/clients.js';
import { startGateway } from '../helpers/InProcessGateway.js';
import { edit, FP256, OBS } from './offers.js';

/** Media requests that must fail cleanly, with stable codes, leaving the workers unharmed. */
let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
let sfuHttp: SfuHttpServer;
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
  gw.node.attachSfu(sfu);
  sfuHttp = await SfuHttpServer.create(sfu, tokens, '127.0.0.1', 0);
});

afterAll(async () => {
  await sfuHttp?.close();
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

describe('WHIP bad input', () => {
  const hex = (bytes: number) => Array.from({ length: bytes }, () => 'AB').join(':');
  const fp = (v: string) => edit(OBS, 'a=fingerprint:', `a=fingerprint:${v}`);
  const rtpmap = (v: string) => edit(OBS, 'a=rtpmap:96', `a=rtpmap:${v}`);
  const audioSsrc = '2893236346';
  const offers: [string, string][] = [
    ['no fingerprint', edit(OBS, 'a=fingerprint:', null)],
    ['md5 fingerprint', fp(`md5 ${hex(16)}`)],
    ['sha-256 fingerprint of 31 bytes', fp(`sha-256 ${hex(31)}`)],
    ['sha-256 fingerprint of 33 bytes', fp(`sha-256 ${hex(33)}`)],
    ['non-hex fingerprint', fp(`sha-256 ${FP256.replace('03', 'ZZ')}`)],
    ['fingerprint without a value', fp('sha-256')],
    ['rtpmap payload type 300', rtpmap('300 H264/90000')],
    ['rtpmap without a clock rate', rtpmap('96 H264')],
    ['rtpmap clock rate 0', rtpmap('96 H264/0')],
    ['rtpmap clock rate not a number', rtpmap('96 H264/fast')],
    ['malformed fmtp', edit(OBS, 'a=fmtp:96', 'a=fmtp:96')],
    ['malformed m-line', edit(OBS, 'm=video', 'm=video 9 UDP/TLS/RTP/SAVPF x')],
    ['NUL in the SDP', edit(OBS, 's=', 's=\u0000')],
    ['no ICE credentials', edit(edit(OBS, 'a=ice-ufrag:', null), 'a=ice-pwd:', null)],
    ['setup passive', edit(OBS, 'a=setup:', 'a=setup:passive')],
    ['an oversized offer', `${OBS}${`a=x:${'y'.repeat(900)}\r\n`.repeat(40)}`],
    // Well formed, refused by mediasoup itself: still the client's mistake.
    ['one SSRC in both sections', edit(OBS, 'a=ssrc:1720385234 cname', `a=ssrc:${audioSsrc} cname:x`)],
    ['an H264 profile mediasoup does not know', edit(OBS, 'a=fmtp:96', 'a=fmtp:96 profile-level-id=zzzzzz;packetization-mode=1')],
    ['no codec the router supports', rtpmap('96 H265/90000')],
  ];

  async function post(base: string, room: string, sdp: string, token: string): Promise<Response> {
    return fetch(`${base}/whip/${room}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` }, body: sdp });
  }

  async function expectError(res: Response, status: number, code: string, what: string): Promise<void> {
    expect(res.status, what).toBe(status);
    expect(res.headers.get('content-type'), what).toMatch(/json/);
    const body = await res.json();
    expect(body, what).toEqual({ error: { code, message: expect.any(String) } });
  }

  it('malformed offers, %00 room ids and broken paths answer 400 with a JSON error, never 500, on the gateway and on the SFU server', async () => {
    const host = await mint({ sub: 'whip-bad', role: 'host', rooms: [ROOM] });
    for (const base of [gw.http, `http://127.0.0.1:${sfuHttp.port}`]) {
      for (const [name, sdp] of offers) await expectError(await post(base, ROOM, sdp, host), 400, 'INVALID_ARGUMENT', `${base} ${name}`);
      await expectError(await post(base, '%00', OBS, host), 400, 'INVALID_ARGUMENT', `${base} %00 room`);
      await expectError(await post(base, 'a%00b', OBS, host), 400, 'INVALID_ARGUMENT', `${base} a%00b room`);
      await expectError(await post(base, '%F0%9F%98%80', OBS, host), 400, 'INVALID_ARGUMENT', `${base} emoji room`);
      const noType = await fetch(`${base}/whip/${ROOM}`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${host}` }, body: OBS });
      await expectError(noType, 415, 'INVALID_ARGUMENT', `${base} text/plain`);
      // The same request with a well-formed offer is accepted: the refusals above are about the input.
      const ok = await post(base, ROOM, OBS, host);
      expect(ok.status, base).toBe(201);
      const end = await fetch(base + ok.headers.get('location'), { method: 'DELETE', headers: { authorization: `Bearer ${host}` } });
      expect(end.status).toBe(200);
    }
    // A broken percent-encoding: both the SFU server and the gateway answer 400, never 500.
    await expectError(await post(`http://127.0.0.1:${sfuHttp.port}`, '%E0%A4%A', OBS, host), 400, 'INVALID_ARGUMENT', 'bad percent-encoding');
    expect((await post(gw.http, '%E0%A4%A', OBS, host)).status).toBe(400);
    // Nothing was left holding a slot or a transport.
    const room = (await sfu.rooms()).find((r) => r.id === ROOM);
    expect([...(room?.producers.values() ?? [])].filter((p) => p.source === 'whip')).toHaveLength(0);
    expect(sfuHttp.whip.reserved).toBe(0);
  });
});
