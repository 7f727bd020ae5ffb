import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfuHttpServer } from '../../sfu/SfuHttpServer.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { SfuService } from '../../sfu/SfuService.js';
import { launchChromium, serveStatic } from '../helpers/browser.js';
import { mint, tokens } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';

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
import { attachSfu } from '../../sfu/attachSfu.js';
describe('WHIP via the gateway route', () => {
  it('POST /whip/:room on the gateway answers 201 with SDP', async () => {
    const gw = await startGateway();
    const sfu2 = await SfuService.create({ workers: 1, rtcMinPort: 48000, rtcMaxPort: 48999 });
    attachSfu(gw.node.gateway, gw.node.router, sfu2);
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
