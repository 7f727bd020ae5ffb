import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteSfu } from '../../sfu/RemoteSfu.js';
import { bundleForBrowser, launchChromium, serveStatic } from '../helpers/browser.js';
import { mint } from '../helpers/clients.js';
import { JWT_SECRET, REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/env.js';
import { startGateway } from '../helpers/InProcessGateway.js';

/**
 * Multi-host: two SFU processes on this machine, located through Redis. The
 * host publishes (Chromium, SDK) on node A, the room's origin; with a node
 * budget of 0 the viewer is placed on node B, which mirrors the room from A
 * through a cross-process pipe; the viewer decodes the host's video.
 */
const prefix = uniquePrefix('ms');
let sfuProcs: ChildProcess[] = [];
let gw: Awaited<ReturnType<typeof startGateway>>;
let remote: RemoteSfu;
let site: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

function startSfu(nodeId: string, minPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sfu/main.ts'], {
    env: {
      ...process.env,
      REDIS_URL,
      FLASHCAST_REDIS_PREFIX: prefix,
      FLASHCAST_JWT_SECRET: JWT_SECRET,
      FLASHCAST_SFU_NODE_ID: nodeId,
      FLASHCAST_SFU_WORKERS: '1',
      FLASHCAST_SFU_RTC_MIN_PORT: String(minPort),
      FLASHCAST_SFU_RTC_MAX_PORT: String(minPort + 999),
      FLASHCAST_SFU_HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`SFU ${nodeId} did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('SFU_READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`SFU ${nodeId} exited ${code}: ${out}`)));
  });
}

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
  sfuProcs = await Promise.all([startSfu('sfu-a', 46000), startSfu('sfu-b', 47000)]);
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
  for (const p of sfuProcs) p.kill('SIGTERM');
  await Promise.all(sfuProcs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
  await deletePrefix(prefix);
});

describe('two SFU processes', () => {
  it('a viewer on node B watches a host publishing on node A through a cross-process pipe', async () => {
    const roomId = 'multi-host';
    expect((await remote.nodes()).map((n) => n.nodeId).sort()).toEqual(['sfu-a', 'sfu-b']);
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

    // The host stops: the mirror's producers close and the viewer drops its consumers.
    await hostPage.evaluate(() => (window as any).publisher.stop());
    await waitFor(() => viewerPage.evaluate(() => (window as any).viewer.consumers.size === 0), 10_000, 'viewer consumers closed');
  }, 90_000);
});
