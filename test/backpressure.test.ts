import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, type FlashcastClient, type WebSocketConstructor } from '../client-sdk/index.js';
import { sleep, waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { metricValue } from './helpers/metrics.js';
import { mint, sdkClient } from './helpers/clients.js';

let gw: Awaited<ReturnType<typeof startGateway>>;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  gw = await startGateway({ maxBackpressure: 256 * 1024, laggingBytes: 64 * 1024 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw.close();
});

/** A `ws` WebSocket whose instances the test can reach (to stop reading). */
const sockets: WebSocket[] = [];
class SpyWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(this);
  }
}

describe('slow consumers', () => {
  it('a viewer that stops reading never delays the room; it is closed, reconnects and resumes', async () => {
    const roomId = 'slowroom';
    const fast = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const c = sdkClient(gw.url, await mint({ sub: `fast${i}`, role: 'viewer' }));
        clients.push(c);
        await c.connect();
        return c.join(roomId);
      }),
    );
    const slowClient = sdkClient(gw.url, await mint({ sub: 'slow', role: 'viewer' }), {
      WebSocket: SpyWebSocket as unknown as WebSocketConstructor,
    });
    clients.push(slowClient);
    await slowClient.connect();
    const slowRoom = await slowClient.join(roomId);
    const slowSocket = sockets[0] as unknown as { _socket: { pause(): void; resume(): void } };
    const disconnects: number[] = [];
    slowClient.on(ClientEvent.Disconnected, ({ code }) => disconnects.push(code));
    const fastCounts = fast.map(() => 0);
    fast.forEach((r, i) => r.on(RoomEvent.Pin, () => fastCounts[i]++));
    let slowCount = 0;
    const slowOffsets: number[] = [];
    slowRoom.on(RoomEvent.Pin, () => {
      slowCount++;
      slowOffsets.push(slowRoom.offset);
    });

    slowSocket._socket.pause(); // stops reading: its TCP window and then the server buffer fill up
    const total = 3000;
    const title = 'T'.repeat(200);
    const imageUrl = `https://cdn.example.com/${'i'.repeat(1900)}`;
    for (let i = 1; i <= total; i++) {
      void gw.node.publisher.publish(roomId, { pin: { product: { productId: `p${i}`, title, imageUrl } } });
      if (i % 100 === 0) await sleep(5);
    }
    // The room does not wait for the viewer that stopped reading: the others get everything
    // while it is still paused, far behind.
    await waitFor(() => fastCounts.every((n) => n === total), 20_000, 'fast viewers got everything');
    expect(slowCount).toBeLessThan(total);
    const closes = () => metricValue(gw.http, 'flashcast_backpressure_closes_total');
    await waitFor(async () => (await closes()) >= 1, 5000, 'the slow viewer closed as a slow consumer');

    slowSocket._socket.resume();
    await waitFor(() => slowCount === total, 20_000, 'slow viewer resumed and caught up');
    expect(slowOffsets).toEqual(Array.from({ length: total }, (_, i) => i + 1)); // each once, in order
    // The server closes it as a slow consumer (4001, after a Disconnect frame); when its
    // TCP window is still full the close frame cannot reach it and it sees 1006. Either
    // way the client reconnects and resumes.
    expect([4001, 1006]).toContain(disconnects[0]);
  });
});
