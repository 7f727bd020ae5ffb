/**
 * Frame batching end to end on a real gateway: sockets that asked for batches get several
 * frames per message, others one frame per message, and both get the room's critical stream
 * exactly once, in order, across a resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomEvent } from '../client-sdk/index.js';
import type { FlashcastClient } from '../client-sdk/index.js';
import { flashcast } from '../protocol/index.js';
import { waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { RawClient, mint, sdkClient } from './helpers/clients.js';

let gw: Awaited<ReturnType<typeof startGateway>>;
const raws: RawClient[] = [];
const sdks: FlashcastClient[] = [];

beforeAll(async () => {
  gw = await startGateway({ batchWindowMs: 20 });
});

afterAll(async () => {
  for (const c of raws) c.close();
  for (const c of sdks) c.close();
  await gw?.close();
});

/** A raw viewer in `room`, with or without batches; resolves once joined. */
async function rawViewer(user: string, room: string, batch: boolean, recover?: { offset: number; epoch: string }): Promise<{ client: RawClient; joined: flashcast.IJoined }> {
  const token = await mint({ sub: user, role: 'viewer' });
  const client = await RawClient.open(`${gw.url}?token=${encodeURIComponent(token)}${batch ? '&batch=1' : ''}`, null);
  raws.push(client);
  const connected = await client.next((f) => !!f.connected);
  expect(connected.connected!.batchWindowMs).toBe(batch ? 20 : 0);
  client.send({ v: 1, rid: 1, join: { room, ...(recover ? { recover: true, offset: recover.offset, epoch: recover.epoch } : {}) } });
  const reply = await client.reply(1);
  expect(reply.joined, JSON.stringify(reply.toJSON())).toBeTruthy();
  return { client, joined: reply.joined! };
}

/** Offsets of the announcements a raw client received, in arrival order. */
const offsetsOf = (client: RawClient): number[] => client.frames.filter((f) => f.event?.announcement).map((f) => Number(f.event!.offset));

/** Publishes `count` announcements at once (pipelined through Redis, so they reach the node together). */
async function burst(room: string, from: number, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => gw.node.publisher.publish(room, { announcement: { text: `n${from + i}` } })));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('frame batching', () => {
  it('packs a burst for sockets that asked for batches; the others get single frames; both in order, once', async () => {
    const room = 'batch-a';
    const batched = await rawViewer('vb1', room, true);
    const single = await rawViewer('vs1', room, false);
    const sdk = sdkClient(gw.url, await mint({ sub: 'vsdk1', role: 'viewer' }));
    sdks.push(sdk);
    await sdk.connect();
    const sdkRoom = await sdk.join(room);
    const seen: string[] = [];
    sdkRoom.on(RoomEvent.Announcement, (a) => seen.push(a.text ?? ''));

    await burst(room, 1, 40);
    await burst(room, 41, 40);
    await waitFor(() => offsetsOf(batched.client).length >= 80 && offsetsOf(single.client).length >= 80 && seen.length >= 80);

    expect(offsetsOf(batched.client)).toEqual(range(1, 80));
    expect(offsetsOf(single.client)).toEqual(range(1, 80));
    expect(seen.sort()).toEqual(range(1, 80).map((n) => `n${n}`).sort());
    expect(sdkRoom.offset).toBe(80);
    // The burst came packed to the one that asked, never to the other.
    expect(batched.client.batches).toBeGreaterThan(0);
    expect(batched.client.messages).toBeLessThan(batched.client.frames.length);
    expect(single.client.batches).toBe(0);
  });

  it('resumes a batched viewer exactly where it left: the missed frames in one message, then the live ones', async () => {
    const room = 'batch-b';
    const first = await rawViewer('vb2', room, true);
    const single = await rawViewer('vs2', room, false);
    await burst(room, 1, 30);
    await waitFor(() => offsetsOf(first.client).length >= 30);
    const last = offsetsOf(first.client).at(-1)!;
    const epoch = first.client.frames.find((f) => f.event?.announcement)!.event!.epoch!;
    first.client.close();
    await first.client.closed;

    await burst(room, 31, 30); // missed while away
    const again = await rawViewer('vb2', room, true, { offset: last, epoch });
    expect(again.joined.recovered).toBe(true);
    expect(Number(again.joined.offset)).toBe(30);
    const messagesAtJoin = again.client.messages;
    await burst(room, 61, 30); // live
    await waitFor(() => offsetsOf(again.client).length >= 60 && offsetsOf(single.client).length >= 90);

    expect([...offsetsOf(first.client), ...offsetsOf(again.client)]).toEqual(range(1, 90));
    expect(offsetsOf(single.client)).toEqual(range(1, 90));
    // joined and the 30 missed frames came as one message (after the connected frame).
    expect(messagesAtJoin).toBe(2);
    expect(again.client.frames.findIndex((f) => f.joined)).toBeLessThan(again.client.frames.findIndex((f) => f.event?.announcement));
  });

  it('a viewer joining while frames wait in the room gets each frame once', async () => {
    const room = 'batch-c';
    const early = await rawViewer('vb3', room, true);
    await burst(room, 1, 10);
    await waitFor(() => offsetsOf(early.client).length >= 10);
    // Joins interleaved with bursts, round after round: some are answered while frames of the
    // room wait in the batcher.
    const late: Awaited<ReturnType<typeof rawViewer>>[] = [];
    let next = 11;
    for (let round = 0; round < 6; round++) {
      const joins = Promise.all([0, 1, 2].map((i) => rawViewer(`v3-${round}-${i}`, room, i !== 1)));
      await burst(room, next, 20);
      next += 20;
      late.push(...(await joins));
    }
    const total = next - 1;
    await waitFor(() => late.every((v) => offsetsOf(v.client).length + Number(v.joined.offset) >= total));
    for (const v of late) {
      const base = Number(v.joined.offset);
      expect(offsetsOf(v.client), `joined at ${base}`).toEqual(range(base + 1, total));
    }
  });
});
