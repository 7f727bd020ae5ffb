import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { GstRtpSource } from '../../sfu/GstRtpSource.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { RtpIngest } from '../../sfu/RtpIngest.js';
import { SfuService } from '../../sfu/SfuService.js';
import { RawClient, mint } from '../helpers/clients.js';
import { sleep, waitFor } from '../helpers/env.js';
import { startGateway } from '../helpers/InProcessGateway.js';

/** Worker death (only affected clients reconnect, the room is rebuilt) and the keyframe storm guard. */
let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
let rid = 1000;
const ROOM = 'resilient';

beforeAll(async () => {
  gw = await startGateway();
  sfu = await SfuService.create({ workers: 2, consumersPerRouter: 2, rtcMinPort: 44000, rtcMaxPort: 44999 });
  gw.node.attachSfu(sfu);
});

afterAll(async () => {
  sfu?.close();
  await gw?.close();
});

async function member(sub: string, role: 'host' | 'viewer', direction: flashcast.MediaDirection): Promise<RawClient> {
  const c = await RawClient.open(gw.url, await mint({ sub, role, rooms: role === 'host' ? [ROOM] : undefined }));
  await c.next((f) => f.msg === 'connected');
  let r = ++rid;
  c.send({ rid: r, join: { room: ROOM } });
  await c.reply(r);
  r = ++rid;
  c.send({ rid: r, media: { room: ROOM, createTransport: { direction } } });
  expect((await c.reply(r)).media?.transport?.id).toBeTruthy();
  return c;
}

const reconnectFrame = (c: RawClient) => c.frames.find((f) => f.msg === 'disconnect');

describe('worker death', () => {
  it('reconnects only the clients on the dead worker; an origin death rebuilds the room', async () => {
    const { SEND, RECV } = flashcast.MediaDirection;
    const host = await member('host-r', 'host', SEND);
    const viewerA = await member('viewer-a', 'viewer', RECV); // origin router (reserves the budget of 2)
    const viewerB = await member('viewer-b', 'viewer', RECV); // spills to a router on the other worker
    const room = (await sfu.rooms()).find((r) => r.id === ROOM)!;
    expect(room.routers).toHaveLength(2);
    const edge = room.routers.find((r) => !r.origin)!;
    const originPid = room.origin.poolWorker.worker.pid;
    const edgePid = edge.poolWorker.worker.pid;
    expect(edgePid).not.toBe(originPid);

    process.kill(edgePid, 'SIGKILL');
    await waitFor(() => reconnectFrame(viewerB), 5000, 'viewer B told to reconnect');
    expect(reconnectFrame(viewerB)!.disconnect).toMatchObject({ code: 4003, reconnect: true });
    await viewerB.closed;
    await sleep(300);
    expect(reconnectFrame(host)).toBeUndefined();
    expect(reconnectFrame(viewerA)).toBeUndefined();
    expect(room.closed).toBe(false);
    expect(room.routers).toHaveLength(1);
    // The pool replaced the dead worker.
    await waitFor(() => sfu.pool.workers.every((w) => !w.worker.died) && !sfu.pool.workers.some((w) => w.worker.pid === edgePid), 5000, 'worker replaced');

    process.kill(originPid, 'SIGKILL');
    await waitFor(() => reconnectFrame(host) && reconnectFrame(viewerA), 5000, 'host and viewer A told to reconnect');
    expect(room.closed).toBe(true);
    const rebuilt = await waitFor(async () => (await sfu.rooms()).find((r) => r.id === ROOM && r !== room), 5000, 'room rebuilt');
    expect(rebuilt.origin.poolWorker.worker.died).toBe(false);
    // A reconnecting host publishes again.
    const again = await member('host-r', 'host', SEND);
    again.close();
    for (const c of [host, viewerA, viewerB]) c.close();
  });
});

describe('keyframe storm guard', () => {
  it('coalesces many viewers\' keyframe requests into at most one per interval toward the host', async () => {
    const counts: Record<string, number> = {};
    for (const delay of [0, 1000]) {
      const room = await sfu.room(`kf-${delay}`);
      const ingest = await RtpIngest.create(room, { userId: 'enc', video: { payloadType: 101, ssrcs: [11111111, 22222222, 33333333] }, keyFrameRequestDelayMs: delay });
      // Frequent keyframes, so requests are not merely waiting for the next one.
      const gst = await GstRtpSource.create({ port: ingest.port, audio: null, keyframeEvery: 3 });
      try {
        const viewers: RtpEgress[] = [];
        for (let i = 0; i < 8; i++) viewers.push(await RtpEgress.create(room, { ip: '127.0.0.1', port: 9 }));
        const video = ingest.videoProducer!;
        await waitFor(async () => (await video.getStats()).length === 3, 10_000, 'three layers flowing');
        await video.enableTraceEvent(['pli', 'fir']);
        let requests = 0;
        video.on('trace', (t) => {
          if (t.direction === 'out') requests++;
        });
        // 8 viewers ask for a keyframe every 100 ms for 3 s.
        for (let tick = 0; tick < 30; tick++) {
          await Promise.all(viewers.flatMap((v) => v.consumers.map((c) => c.requestKeyFrame())));
          await sleep(100);
        }
        await sleep(200);
        counts[delay] = requests;
      } finally {
        gst.close();
        ingest.close();
        room.close();
      }
    }
    console.log('keyframe requests toward the host', counts);
    // Without the guard a request goes out whenever the last one was answered (~10/s);
    // with it, at most one per second per layer (3 layers) over the 3 s.
    expect(counts[0]).toBeGreaterThan(40);
    expect(counts[1000]).toBeLessThanOrEqual(3 * 5);
    expect(counts[1000]).toBeGreaterThan(0);
  });
});
