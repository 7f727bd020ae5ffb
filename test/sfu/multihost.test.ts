import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteSfu } from '../../sfu/RemoteSfu.js';
import { nodeAddress, type PipeInfo } from '../../sfu/SfuNode.js';
import { bundleForBrowser, launchChromium, serveStatic } from '../helpers/browser.js';
import { mint } from '../helpers/clients.js';
import { REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/env.js';
import { startGateway } from '../helpers/InProcessGateway.js';
import { startSfu, stopSfus } from '../helpers/SfuProcess.js';

/**
 * Multi-host: three SFU processes on this machine, located through Redis. The
 * host publishes (Chromium, SDK) on node A, the room's origin; with a node
 * budget of 0 the viewer is placed on node B, which mirrors the room from A
 * through a cross-process pipe (SRTP); the viewer decodes the host's video.
 * Then an origin is killed: the host re-publishes on a live node, which takes
 * the origin over, and the viewer's node re-points its mirror to it.
 */
const prefix = uniquePrefix('ms');
let sfuProcs: ChildProcess[] = [];
let gw: Awaited<ReturnType<typeof startGateway>>;
let remote: RemoteSfu;
let site: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

const PAGE = `<!doctype html><meta charset="utf-8"><body><script type="module">
  import { FlashcastClient } from '/sdk.js';
  async function enter(url, token, roomId) {
    const client = new FlashcastClient({ url, token });
    await client.connect();
    return client.join(roomId);
  }
  window.host = async (url, token, roomId) => {
    const room = await enter(url, token, roomId);
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    window.publisher = await room.publish(stream);
  };
  window.watch = async (url, token, roomId) => {
    const room = await enter(url, token, roomId);
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    window.viewer = await room.watch(video, { pollIntervalMs: 500 });
  };
  window.frames = async () => {
    const consumer = window.viewer.videoConsumer;
    if (!consumer) return 0;
    const ssrc = consumer.rtpParameters.encodings[0].ssrc;
    let n = 0;
    (await window.viewer.transport.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.ssrc === ssrc) n = s.framesDecoded || 0; });
    return n;
  };
</script>`;

beforeAll(async () => {
  sfuProcs = await Promise.all([startSfu('sfu-a', prefix, 46000), startSfu('sfu-b', prefix, 47000), startSfu('sfu-c', prefix, 48000)]);
  gw = await startGateway({ redisPrefix: prefix });
  remote = await RemoteSfu.create({ redisUrl: REDIS_URL, prefix, nodeConsumerBudget: 0 });
  gw.node.attachSfu(remote);
  site = await serveStatic({
    '/': ['text/html', PAGE],
    '/sdk.js': ['text/javascript', await bundleForBrowser('../../client-sdk/index.ts')],
  });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  remote?.close();
  await gw?.close();
  await stopSfus(sfuProcs);
  await deletePrefix(prefix);
});

describe('two SFU processes', () => {
  it('a viewer on node B watches a host publishing on node A through a cross-process pipe', async () => {
    const roomId = 'multi-host';
    expect((await remote.nodes()).map((n) => n.nodeId).sort()).toEqual(['sfu-a', 'sfu-b', 'sfu-c']);
    const hostPage = await browser.newPage();
    await hostPage.goto(site.url);
    await hostPage.evaluate(([u, t, r]) => (window as any).host(u, t, r), [gw.url, await mint({ sub: 'h', role: 'host', rooms: [roomId] }), roomId] as const);
    const origin = await remote.rpc.redis.get(remote.rpc.key(`origin:${roomId}`));
    expect(origin).toBe('sfu-a'); // least loaded, ties by id

    const viewerPage = await browser.newPage();
    await viewerPage.goto(site.url);
    await viewerPage.evaluate(([u, t, r]) => (window as any).watch(u, t, r), [gw.url, await mint({ sub: 'v', role: 'viewer' }), roomId] as const);
    const placed = [...remote.placements.entries()];
    expect(placed.filter(([, node]) => node === 'sfu-b')).toHaveLength(1); // the viewer
    expect(placed.filter(([, node]) => node === 'sfu-a')).toHaveLength(1); // the host
    await waitFor(async () => (await viewerPage.evaluate(() => (window as any).frames())) > 10, 25_000, 'frames decoded on node B');
    // The pipe between the processes is SRTP-encrypted at both ends.
    expect(await remote.rpc.call<PipeInfo[]>(nodeAddress('sfu-b'), 'pipes', {})).toEqual([{ roomId, direction: 'in', peer: 'sfu-a', srtp: true }]);
    expect(await remote.rpc.call<PipeInfo[]>(nodeAddress('sfu-a'), 'pipes', {})).toEqual([{ roomId, direction: 'out', peer: 'sfu-b', srtp: true }]);

    // The host stops: the mirror's producers close and the viewer drops its consumers.
    await hostPage.evaluate(() => (window as any).publisher.stop());
    await waitFor(() => viewerPage.evaluate(() => (window as any).viewer.consumers.size === 0), 10_000, 'viewer consumers closed');
    await Promise.all([hostPage.close(), viewerPage.close()]);
  }, 90_000);

  it('the origin SFU process dies: the host re-publishes on a live node, which takes the origin over; relays re-point and viewers recover without reloading', async () => {
    const roomId = 'failover';
    const hostPage = await browser.newPage();
    await hostPage.goto(site.url);
    await hostPage.evaluate(([u, t, r]) => (window as any).host(u, t, r), [gw.url, await mint({ sub: 'h2', role: 'host', rooms: [roomId] }), roomId] as const);
    const origin = (await remote.rpc.redis.get(remote.rpc.key(`origin:${roomId}`)))!;
    // Two viewers: with a node budget of 0 they land on the two other nodes, which both relay.
    const viewers: { page: Page; node: string; consumer: string }[] = [];
    for (const sub of ['v2', 'v3']) {
      const page = await browser.newPage();
      await page.goto(site.url);
      const before = new Set(remote.placements.keys());
      await page.evaluate(([u, t, r]) => (window as any).watch(u, t, r), [gw.url, await mint({ sub, role: 'viewer' }), roomId] as const);
      const key = [...remote.placements.keys()].find((k) => !before.has(k) && k.endsWith(`|${roomId}`))!;
      await waitFor(async () => (await page.evaluate(() => (window as any).frames())) > 10, 25_000, `${sub} decodes before the failover`);
      await page.evaluate(() => ((window as any).sameDocument = true));
      viewers.push({ page, node: remote.placements.get(key)!, consumer: await page.evaluate(() => (window as any).viewer.videoConsumer.id) });
    }
    expect(new Set(viewers.map((v) => v.node)).size).toBe(2);
    expect(viewers.map((v) => v.node)).not.toContain(origin);

    sfuProcs[['sfu-a', 'sfu-b', 'sfu-c'].indexOf(origin)].kill('SIGKILL');
    // The gateway moves the host off the dead node; the host publishes on a live node, which takes the origin over.
    const newOrigin = await waitFor(async () => {
      const now = await remote.rpc.redis.get(remote.rpc.key(`origin:${roomId}`));
      return now && now !== origin ? now : null;
    }, 30_000, 'a new origin');
    // The relay that is not the new origin re-points its SRTP pipe to it.
    const relay = viewers.find((v) => v.node !== newOrigin)!;
    await waitFor(async () => {
      const pipes = await remote.rpc.call<PipeInfo[]>(nodeAddress(relay.node), 'pipes', {});
      return pipes.some((p) => p.roomId === roomId && p.direction === 'in' && p.peer === newOrigin && p.srtp);
    }, 20_000, 'the relay re-pointed to the new origin');
    // Both viewers: same page, a new consumer, frames decoding again.
    for (const v of viewers) {
      await waitFor(
        () => v.page.evaluate((first) => (window as any).viewer.videoConsumer && (window as any).viewer.videoConsumer.id !== first, v.consumer),
        30_000,
        'the viewer consumes the re-published video',
      );
      await waitFor(async () => (await v.page.evaluate(() => (window as any).frames())) > 10, 30_000, 'frames decoded after the failover');
      expect(await v.page.evaluate(() => (window as any).sameDocument)).toBe(true);
    }
  }, 120_000);
});
