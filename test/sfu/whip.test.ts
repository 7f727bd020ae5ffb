import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfuHttpServer } from '../../sfu/SfuHttpServer.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { SfuService } from '../../sfu/SfuService.js';
import { launchChromium, serveStatic } from '../helpers/browser.js';
import { mint, tokens } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';
import { OBS } from './offers.js';

/**
 * WHIP ingest with a real WHIP client: Chromium's RTCPeerConnection posts its
 * SDP offer (as OBS's WHIP output does); the producers join the room; DELETE ends it.
 */
let sfu: SfuService;
let http: SfuHttpServer;
let site: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;
let page: Page;

const PAGE = `<!doctype html><meta charset="utf-8"><title>WHIP</title><script>
  window.whip = async (url, token) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const headers = { 'content-type': 'application/sdp' };
    if (token) headers.authorization = 'Bearer ' + token;
    const res = await fetch(url, { method: 'POST', headers, body: offer.sdp });
    const body = await res.text();
    if (res.status !== 201) return { status: res.status, body };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    window.pc = pc;
    return { status: res.status, location: res.headers.get('location') };
  };
  window.state = () => window.pc.connectionState;
  window.del = async (url, token) => (await fetch(url, { method: 'DELETE', headers: { authorization: 'Bearer ' + token } })).status;
</script>`;

beforeAll(async () => {
  sfu = await SfuService.create({ workers: 1, rtcMinPort: 45000, rtcMaxPort: 45999 });
  http = await SfuHttpServer.create(sfu, tokens, '127.0.0.1', 0);
  site = await serveStatic({ '/': ['text/html', PAGE] });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(site.url);
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await http?.close();
  sfu?.close();
});

import { startGateway } from '../helpers/InProcessGateway.js';
describe('WHIP via the gateway route', () => {
  it('POST /whip/:room on the gateway answers 201 with SDP', async () => {
    const gw = await startGateway();
    const sfu2 = await SfuService.create({ workers: 1, rtcMinPort: 48000, rtcMaxPort: 48999 });
    gw.node.attachSfu(sfu2);
    try {
      const host = await mint({ sub: 'obs2', role: 'host', rooms: ['gwroom'] });
      const offer = await page.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const pc = new RTCPeerConnection();
        for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
        await pc.setLocalDescription(await pc.createOffer());
        (window as any).pc = pc;
        return pc.localDescription!.sdp;
      });
      const res = await fetch(`${gw.http}/whip/gwroom`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${host}` }, body: offer });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toMatch(/^\/whip\/gwroom\//);
      const answer = await res.text();
      await page.evaluate((sdp) => (window as any).pc.setRemoteDescription({ type: 'answer', sdp }), answer);
      await waitFor(() => page.evaluate(() => (window as any).state() === 'connected'), 15_000, 'connected');
      const room = (await sfu2.rooms()).find((x) => x.id === 'gwroom')!;
      expect(room.producers.size).toBe(2);
    } finally {
      sfu2.close();
      await gw.close();
    }
  }, 60_000);
});

describe('WHIP ingest', () => {
  it('a host goes live with a WHIP POST, viewers receive its media, DELETE ends it; others are refused', async () => {
    const roomId = 'whip-room';
    const base = `http://127.0.0.1:${http.port}`;
    const url = `${base}/whip/${roomId}`;
    const viewer = await mint({ sub: 'v', role: 'viewer' });
    const otherHost = await mint({ sub: 'h2', role: 'host', rooms: ['another-room'] });
    const host = await mint({ sub: 'obs-host', role: 'host', rooms: [roomId] });
    const post = (token: string) => page.evaluate(([u, t]) => (window as any).whip(u, t), [url, token] as const);
    expect((await post('')).status).toBe(401);
    expect((await post(viewer)).status).toBe(403);
    expect((await post(otherHost)).status).toBe(403);
    const garbage = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${host}` }, body: 'hello' });
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).error.code).toBe('INVALID_ARGUMENT');

    const live = await post(host);
    expect(live.status).toBe(201);
    expect(live.location).toMatch(new RegExp(`^/whip/${roomId}/[0-9a-f-]{36}$`));
    await waitFor(() => page.evaluate(() => (window as any).state() === 'connected'), 15_000, 'WHIP peer connected');
    const room = (await sfu.rooms()).find((r) => r.id === roomId)!;
    expect([...room.producers.values()].map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    expect([...room.producers.values()].every((p) => p.source === 'whip' && p.userId === 'obs-host')).toBe(true);

    // A viewer (plain RTP out) receives the ingested media.
    const egress = await RtpEgress.create(room, { ip: '127.0.0.1', port: 9 });
    await waitFor(async () => {
      for (const c of egress.consumers) {
        const out = (await c.getStats()).find((s) => s.type === 'outbound-rtp');
        if (!out || out.packetCount < 10) return false;
      }
      return true;
    }, 15_000, 'ingested packets forwarded');

    // Someone else cannot end it; the publisher can.
    expect(await page.evaluate(([u, t]) => (window as any).del(u, t), [base + live.location, otherHost] as const)).toBe(403);
    expect(await page.evaluate(([u, t]) => (window as any).del(u, t), [base + live.location, host] as const)).toBe(200);
    await waitFor(() => room.producers.size === 0, 5000, 'producers closed');
    expect(http.whip.sessions).toBe(0);
    expect(await page.evaluate(([u, t]) => (window as any).del(u, t), [base + live.location, host] as const)).toBe(404);
  }, 60_000);
});

describe('WHIP limits and expiry', () => {
  const postSdp = (base: string, room: string, token: string, sdp = OBS) =>
    fetch(`${base}/whip/${room}`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` }, body: sdp });

  it('10 concurrent POSTs for one room: exactly 2 are accepted, 8 get MEDIA_LIMIT_REACHED; DELETE frees a slot', async () => {
    const base = `http://127.0.0.1:${http.port}`;
    const host = await mint({ sub: 'racer', role: 'host', rooms: ['race-room', 'race-other'] });
    const results = await Promise.all(Array.from({ length: 10 }, () => postSdp(base, 'race-room', host)));
    const accepted = results.filter((r) => r.status === 201);
    expect(accepted).toHaveLength(2);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(429);
      expect((await r.json()).error.code).toBe('MEDIA_LIMIT_REACHED');
    }
    expect(http.whip.sessions).toBe(2);
    expect(http.whip.reserved).toBe(2);
    const room = (await sfu.rooms()).find((r) => r.id === 'race-room')!;
    expect(room.producers.size).toBe(4);
    // Another room is not affected; ending one ingest lets the next one in.
    expect((await postSdp(base, 'race-other', host)).status).toBe(201);
    const ended = await fetch(base + accepted[0].headers.get('location'), { method: 'DELETE', headers: { authorization: `Bearer ${host}` } });
    expect(ended.status).toBe(200);
    expect(http.whip.reserved).toBe(2);
    const again = await Promise.all([postSdp(base, 'race-room', host), postSdp(base, 'race-room', host)]);
    expect(again.map((r) => r.status).sort()).toEqual([201, 429]);
    for (const r of [...accepted.slice(1), ...again]) {
      if (r.status === 201) await fetch(base + r.headers.get('location'), { method: 'DELETE', headers: { authorization: `Bearer ${host}` } });
    }
  }, 60_000);

  it('an ingest that never connects expires and frees its slot; a connected one stays; the process-wide cap holds', async () => {
    const sfu3 = await SfuService.create({ workers: 1, rtcMinPort: 47000, rtcMaxPort: 47999, whipConnectTimeoutMs: 3000, whipMaxIngests: 3 });
    const http3 = await SfuHttpServer.create(sfu3, tokens, '127.0.0.1', 0);
    try {
      const base = `http://127.0.0.1:${http3.port}`;
      const host = await mint({ sub: 'sleeper', role: 'host', rooms: ['exp', 'exp2', 'exp3', 'exp-live'] });
      expect((await postSdp(base, 'exp', host)).status).toBe(201);
      expect((await postSdp(base, 'exp', host)).status).toBe(201);
      expect((await postSdp(base, 'exp', host)).status).toBe(429);
      expect((await postSdp(base, 'exp2', host)).status).toBe(201);
      const full = await postSdp(base, 'exp3', host);
      expect(full.status).toBe(429);
      expect(await full.json()).toMatchObject({ error: { code: 'MEDIA_LIMIT_REACHED', message: expect.stringMatching(/maximum of 3/) } });

      // Nobody connects: every ingest expires, its producers close, its slot is free again.
      await waitFor(() => http3.whip.reserved === 0 && http3.whip.sessions === 0, 20_000, 'unconnected ingests expired');
      expect((await sfu3.rooms()).every((r) => r.producers.size === 0)).toBe(true);
      expect((await postSdp(base, 'exp3', host)).status).toBe(201);
      await waitFor(() => http3.whip.reserved === 0, 20_000, 'the next one expired too');

      // A connected ingest is not expired: an unconnected one posted after it expires first, and it stays live.
      const live = await page.evaluate(([u, t]) => (window as any).whip(u, t), [`${base}/whip/exp-live`, host] as const);
      expect(live.status).toBe(201);
      await waitFor(() => page.evaluate(() => (window as any).state() === 'connected'), 15_000, 'WHIP peer connected');
      expect((await postSdp(base, 'exp-live', host)).status).toBe(201);
      expect(http3.whip.sessions).toBe(2);
      await waitFor(() => http3.whip.sessions === 1, 20_000, 'the unconnected ingest expired');
      expect(await page.evaluate(() => (window as any).state())).toBe('connected');
      const room = (await sfu3.rooms()).find((r) => r.id === 'exp-live')!;
      expect(room.producers.size).toBe(2);
      expect(await page.evaluate(([u, t]) => (window as any).del(u, t), [base + live.location, host] as const)).toBe(200);
      expect(http3.whip.reserved).toBe(0);
    } finally {
      await http3.close();
      sfu3.close();
    }
  }, 90_000);
});
