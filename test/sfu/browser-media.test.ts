import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfuService } from '../../sfu/SfuService.js';
import { bundleForBrowser, launchChromium, serveStatic } from '../helpers/browser.js';
import { mint } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';
import { startGateway } from '../helpers/InProcessGateway.js';

/**
 * Real browsers through the SDK: headless Chromium publishes its fake camera
 * (1280x720, three simulcast layers); three viewer pages watch; the Lite viewer
 * gets the smallest layer; a live layer change; the host stops.
 */
let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
let site: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

const PAGE = `<!doctype html><meta charset="utf-8"><title>Flashcast media</title>
<body><script type="module">
  import { FlashcastClient } from '/sdk.js';
  async function enter(url, token, roomId) {
    const client = new FlashcastClient({ url, token, backoff: { baseMs: 50, maxMs: 300 } });
    await client.connect();
    return client.join(roomId);
  }
  window.host = async (url, token, roomId) => {
    const room = await enter(url, token, roomId);
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    window.publisher = await room.publish(stream);
    return window.publisher.producers.map((p) => p.kind).sort();
  };
  window.watch = async (url, token, roomId, quality) => {
    const room = await enter(url, token, roomId);
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    window.viewer = await room.watch(video, { quality, pollIntervalMs: 500 });
    window.room = room;
    return true;
  };
  window.stats = async () => {
    const consumer = window.viewer.videoConsumer;
    if (!consumer) return null;
    const ssrc = consumer.rtpParameters.encodings[0].ssrc;
    const report = await window.viewer.transport.getStats();
    let found = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.ssrc === ssrc) found = { framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0, ssrc };
    });
    return found;
  };
  window.tryProduce = async () => {
    try {
      await window.room.publish(await navigator.mediaDevices.getUserMedia({ video: true }));
      return 'published';
    } catch (e) { return e.code || String(e); }
  };
</script>`;

beforeAll(async () => {
  gw = await startGateway();
  sfu = await SfuService.create({ workers: 2, consumersPerRouter: 4, rtcMinPort: 42000, rtcMaxPort: 42999 });
  gw.node.attachSfu(sfu);
  site = await serveStatic({
    '/': ['text/html', PAGE],
    '/sdk.js': ['text/javascript', await bundleForBrowser('../../client-sdk/index.ts')],
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  sfu?.close();
  await gw?.close();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error', error));
  await page.goto(site.url);
  return page;
}

const stats = (page: Page) => page.evaluate(() => (window as any).stats()) as Promise<{ framesDecoded: number; frameWidth: number } | null>;

describe('live video in Chromium through the SDK', () => {
  it('a host publishes 3 layers; three viewers decode; Lite gets the smallest layer; layers change live', async () => {
    const roomId = 'live-video';
    const hostPage = await openPage();
    const hostToken = await mint({ sub: 'host-1', role: 'host', rooms: [roomId] });
    expect(await hostPage.evaluate(([u, t, r]) => (window as any).host(u, t, r), [gw.url, hostToken, roomId] as const)).toEqual(['audio', 'video']);
    const room = (await sfu.rooms()).find((r) => r.id === roomId)!;
    const video = [...room.producers.values()].find((p) => p.kind === 'video')!;
    expect(video.producer.type).toBe('simulcast');
    expect(video.producer.rtpParameters.encodings).toHaveLength(3);

    const viewers: Page[] = [];
    for (const [i, quality] of (['auto', 'auto', 'lite'] as const).entries()) {
      const page = await openPage();
      const token = await mint({ sub: `viewer-${i}`, role: 'viewer' });
      await page.evaluate(([u, t, r, q]) => (window as any).watch(u, t, r, q), [gw.url, token, roomId, quality] as const);
      viewers.push(page);
    }
    // Budget 4 consumers per router: the third viewer is on the second worker, fed by a pipe.
    expect(room.routers).toHaveLength(2);
    expect(new Set(room.routers.map((r) => r.poolWorker.index)).size).toBe(2);

    // Every viewer decodes frames.
    for (const page of viewers) {
      await waitFor(async () => ((await stats(page))?.framesDecoded ?? 0) > 10, 20_000, 'decoded frames');
    }
    // Lite: the smallest layer (1280/4). Auto: a bigger one once bandwidth allows.
    await waitFor(async () => (await stats(viewers[2]))?.frameWidth === 320, 10_000, 'lite at 320 wide');
    await waitFor(async () => ((await stats(viewers[0]))?.frameWidth ?? 0) >= 640, 20_000, 'auto above the lowest layer');

    // The app lowers viewer 0 live; viewer 2 (Lite) asks for more and stays pinned.
    await viewers[0].evaluate(() => (window as any).viewer.setPreferredLayers(0));
    await viewers[2].evaluate(() => (window as any).viewer.setPreferredLayers(2));
    await waitFor(async () => (await stats(viewers[0]))?.frameWidth === 320, 10_000, 'viewer 0 down to 320');
    const lite = await stats(viewers[2]);
    await new Promise((r) => setTimeout(r, 1500));
    const liteLater = (await stats(viewers[2]))!;
    expect(liteLater.frameWidth).toBe(320);
    expect(liteLater.framesDecoded).toBeGreaterThan(lite!.framesDecoded); // still flowing

    // /metrics: consumers per layer in the room, per worker load.
    const metrics = await (await fetch(`${gw.http}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`flashcast_sfu_room_consumers\\{room="${roomId}",layer="audio"\\} 3`));
    expect(metrics).toMatch(new RegExp(`flashcast_sfu_room_consumers\\{room="${roomId}",layer="0"\\} [23]`)); // Lite + viewer 0 (+ viewer 1 if its bandwidth is low)
    expect(metrics).toMatch(/flashcast_sfu_worker_consumers\{worker="1"\} 2/);
    expect(metrics).toMatch(new RegExp(`flashcast_sfu_room_bitrate_in_bps\\{room="${roomId}",kind="video"\\} [1-9]`));

    // A viewer may not publish.
    expect(await viewers[1].evaluate(() => (window as any).tryProduce())).toBe('FORBIDDEN');

    // Clean stop: the host stops, the server's producers close and viewers drop their consumers.
    await hostPage.evaluate(() => (window as any).publisher.stop());
    await waitFor(() => room.producers.size === 0, 5000, 'producers closed');
    for (const page of viewers) {
      await waitFor(() => page.evaluate(() => (window as any).viewer.consumers.size === 0), 5000, 'viewer consumers closed');
    }
    await viewers[0].evaluate(() => (window as any).viewer.stop());
    await waitFor(() => [...sfu.sessions.values()].every((s) => s.transports.size <= 1), 5000, 'viewer transport released');
  }, 90_000);
});
