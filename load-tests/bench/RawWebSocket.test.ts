import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawWebSocket } from './RawWebSocket.js';
import { UwsBaselineServer } from '../baselines/UwsBaselineServer.js';

let server: UwsBaselineServer | null = null;

afterEach(() => {
  server?.close();
  server = null;
});

describe('RawWebSocket against the uWS baseline', () => {
  it('receives every published frame, in order, including large and back-to-back ones', async () => {
    server = await UwsBaselineServer.create({ host: '127.0.0.1', port: 0, maxBackpressure: 1024 * 1024 });
    const received: Buffer[] = [];
    let ready!: () => void;
    const subscribed = new Promise<void>((r) => (ready = r));
    const viewer = new RawWebSocket('127.0.0.1', server.port, '/ws', {
      onOpen: () => {},
      onMessage: (data, start, end, isBinary) => {
        expect(isBinary).toBe(true);
        const message = Buffer.from(data.subarray(start, end));
        if (message.length === 1 && message[0] === 1) ready();
        else received.push(message);
      },
      onClose: () => {},
    });
    await subscribed;
    const publisher = new WebSocket(`ws://127.0.0.1:${server.port}/ws?role=pub`);
    await new Promise((r) => publisher.once('open', r));
    const sizes = [2, 125, 126, 65_535, 65_536, 20_000, 3];
    sizes.forEach((size, i) => publisher.send(Buffer.alloc(size, i + 1)));
    const deadline = Date.now() + 5000;
    while (received.length < sizes.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received.map((b) => b.length)).toEqual(sizes);
    received.forEach((b, i) => expect(b.every((x) => x === i + 1)).toBe(true));
    expect(viewer.isOpen).toBe(true);
    publisher.close();
    viewer.close();
    expect(viewer.isOpen).toBe(false);
  });

  it('reports a refused handshake as a close', async () => {
    server = await UwsBaselineServer.create({ host: '127.0.0.1', port: 0, maxBackpressure: 1024 * 1024 });
    const closed = await new Promise<number>((resolve) => {
      new RawWebSocket('127.0.0.1', server!.port, '/nope', { onOpen: () => {}, onMessage: () => {}, onClose: (code) => resolve(code) });
    });
    expect(closed).toBe(1002);
  });
});
