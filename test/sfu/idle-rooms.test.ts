import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { RtpIngest } from '../../sfu/RtpIngest.js';
import type { MediaCaller } from '../../sfu/SfuService.js';
import { SfuService } from '../../sfu/SfuService.js';
import type { SfuRoom } from '../../sfu/SfuRoom.js';

/**
 * Idle rooms release their routers: any member may open a room's media (one
 * capabilities request allocates a router), so a room that nobody uses for
 * `roomIdleTimeoutMs` closes; a room with producers, consumers or sessions stays.
 * Real mediasoup workers.
 */
const IDLE_MS = 300;
let sfu: SfuService;

beforeAll(async () => {
  sfu = await SfuService.create({ workers: 2, consumersPerRouter: 2, roomIdleTimeoutMs: IDLE_MS, rtcMinPort: 39000, rtcMaxPort: 39499 });
});

afterAll(() => {
  sfu?.close();
});

const viewer = (sessionId: string): MediaCaller => ({ sessionId, userId: sessionId, canProduce: false });

function media(room: string, op: Omit<flashcast.IMediaRequest, 'room'>): flashcast.MediaRequest {
  return flashcast.MediaRequest.create({ room, ...op });
}

/** Routers alive on the pool's workers. */
function routersInPool(): number {
  return sfu.pool.workers.reduce((n, w) => n + w.routers, 0);
}

async function openRoom(id: string): Promise<SfuRoom> {
  return (await sfu.rooms()).find((r) => r.id === id)!;
}

/** Resolves when the room closes. */
function closing(room: SfuRoom): Promise<void> {
  return room.closed ? Promise.resolve() : new Promise((resolve) => room.once('close', () => resolve()));
}

/** Opens a throwaway room with a capabilities request and waits for it to close: one idle grace period has passed. */
async function oneGracePeriod(id: string): Promise<void> {
  await sfu.handle(viewer(`probe-${id}`), media(id, { capabilities: {} }));
  await closing(await openRoom(id));
}

describe('idle rooms', () => {
  it('closes a room a viewer\'s media request opened and left idle, releasing its router', async () => {
    const before = routersInPool();
    const caps = await sfu.handle(viewer('v-idle'), media('idle-1', { capabilities: {} }));
    expect(caps.routerRtpCapabilitiesJson).toBeTruthy();
    const room = await openRoom('idle-1');
    const router = room.origin.router;
    expect(router.closed).toBe(false);
    expect(routersInPool()).toBe(before + 1);

    await closing(room);
    expect(router.closed).toBe(true);
    expect(routersInPool()).toBe(before);
    expect(await openRoom('idle-1')).toBeUndefined();
    // Asking again opens it afresh.
    await sfu.handle(viewer('v-idle'), media('idle-1', { capabilities: {} }));
    const again = await openRoom('idle-1');
    expect(again).not.toBe(room);
    expect(again.closed).toBe(false);
  });

  it('keeps a room while a viewer session has a transport in it, and closes it once the session is gone', async () => {
    const session = viewer('v-watching');
    const reply = await sfu.handle(session, media('idle-2', { createTransport: { direction: flashcast.MediaDirection.RECV } }));
    expect(reply.transport?.id).toBeTruthy();
    const room = await openRoom('idle-2');

    await oneGracePeriod('idle-2-probe');
    expect(room.closed).toBe(false);
    expect(room.origin.router.closed).toBe(false);

    sfu.closeSession(session.sessionId);
    await closing(room);
    expect(room.origin.router.closed).toBe(true);
  });

  it('keeps a live room with producers and consumers on several routers; closes it, every router, once it is over', async () => {
    const before = routersInPool();
    const room = await sfu.room('idle-live');
    const ingest = await RtpIngest.create(room, {
      userId: 'encoder',
      video: { payloadType: 101, ssrcs: [1111, 2222, 3333] },
      audio: { payloadType: 100, ssrc: 4444 },
    });
    // A budget of 2 consumers per router: the second egress spills to an edge router fed through a pipe.
    const egress = [await RtpEgress.create(room, { ip: '127.0.0.1', port: 9 }), await RtpEgress.create(room, { ip: '127.0.0.1', port: 9 })];
    expect(room.routers).toHaveLength(2);
    const routers = room.routers.map((r) => r.router);

    await oneGracePeriod('idle-live-probe');
    expect(room.closed).toBe(false);
    expect(routers.every((r) => !r.closed)).toBe(true);

    // The audience leaves: the producers still make it live.
    for (const e of egress) e.close();
    await oneGracePeriod('idle-live-probe-2');
    expect(room.closed).toBe(false);

    // The host stops: only the pipes between the room's own routers remain, which do not keep it.
    ingest.close();
    await closing(room);
    expect(routers.every((r) => r.closed)).toBe(true);
    expect(routersInPool()).toBe(before);
  });
});
