/**
 * Measures what a room message costs the gateways apart from its deliveries, with almost nobody
 * in the room: the host and a few chatters on gateway 1 only (the room lives on one node), then
 * one more member on every other gateway (the room on all of them). Each window's gateway CPU,
 * less their CPU at rest and the few deliveries, over the messages published.
 */
import { ChatPublisher } from './ChatPublisher.js';
import { FlashcastPublisher } from './FlashcastPublisher.js';
import type { GatewayFleet } from './GatewayFleet.js';
import { PacedPublishing, type PacedStream } from './PacedPublishing.js';

/** µs of gateway CPU per message, apart from its deliveries. */
export interface GatewayMessageCosts {
  /** At the gateway a critical message enters by (the host's announce). */
  criticalIngress: number;
  /** At the gateway a chat line enters by. */
  chatIngress: number;
  /** At each gateway holding the room (its copy from Redis). */
  perNode: number;
  /** The gateways' CPU at rest, per node per second. */
  restPerNodePerSecond: number;
}

export interface GatewayMessageCalibrationOptions {
  room: string;
  textBytes: number;
  /** Gateway CPU per delivery (an upper bound will do: only a few deliveries are taken out). */
  deliveryUs: number;
  /** Seconds per window. */
  seconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Gateway per-message costs, measured on a running fleet before its room fills. */
export class GatewayMessageCalibration {
  /** Four windows: rest, critical and chat with the room on one node, critical with it on all. */
  static async measure(fleet: GatewayFleet, o: GatewayMessageCalibrationOptions): Promise<GatewayMessageCosts> {
    const url = (g: number, token: string): string => `ws://127.0.0.1:${fleet.ports[g]}/ws?token=${token}`;
    const gateways = fleet.ports.length;
    // Enough messages for a few hundred per window: the host's frames stay under its 50/s limit,
    // each chatter under its 3 lines/s.
    const rate = 40;
    const chatRate = 20;
    const chatters = Math.max(1, Math.ceil(chatRate / 2));
    const host = await FlashcastPublisher.create(url(0, await fleet.tokens.mint({ sub: 'calhost', role: 'host', rooms: [o.room], ttlSeconds: 3600 })), o.room, o.textBytes);
    const opened: { close(): Promise<void> }[] = [host];
    try {
      const chatUrls: string[] = [];
      for (let c = 0; c < chatters; c++) chatUrls.push(url(0, await fleet.tokens.mint({ sub: `calchat${c}`, role: 'viewer', ttlSeconds: 3600 })));
      const chat = await ChatPublisher.create(chatUrls, o.room, o.textBytes);
      opened.push(chat);
      await sleep(1000);
      const window = async (stream: PacedStream | null): Promise<{ cpuMs: number; seconds: number }> => {
        const cpu0 = sum(fleet.cpuMs());
        const start = now();
        if (stream) {
          await PacedPublishing.run([stream], o.seconds, start);
          await stream.publisher.settle(5000);
          await sleep(200);
        } else {
          await sleep(o.seconds * 1000);
        }
        return { cpuMs: sum(fleet.cpuMs()) - cpu0, seconds: (now() - start) / 1000 };
      };
      const rest = await window(null);
      const restUsPerSecond = (rest.cpuMs * 1000) / rest.seconds;
      const perMessage = (w: { cpuMs: number; seconds: number }, messages: number, members: number): number =>
        (w.cpuMs * 1000 - restUsPerSecond * w.seconds) / Math.max(1, messages) - members * o.deliveryUs;
      const members = 1 + chatters;
      let acked = host.acked;
      const critical1 = perMessage(await window({ rate, publisher: host, base: 0 }), host.acked - acked, members);
      acked = chat.acked;
      const chat1 = perMessage(await window({ rate: chatRate, publisher: chat, base: 0 }), chat.acked - acked, members);
      let perNode = 0;
      if (gateways > 1) {
        for (let g = 1; g < gateways; g++) {
          opened.push(await ChatPublisher.create([url(g, await fleet.tokens.mint({ sub: `calview${g}`, role: 'viewer', ttlSeconds: 3600 }))], o.room, o.textBytes));
        }
        await sleep(1000);
        acked = host.acked;
        const criticalAll = perMessage(await window({ rate, publisher: host, base: 1_000_000 }), host.acked - acked, members + gateways - 1);
        perNode = Math.max(0, (criticalAll - critical1) / (gateways - 1));
      }
      return {
        criticalIngress: Math.max(0, critical1 - perNode),
        chatIngress: Math.max(0, chat1 - perNode),
        perNode,
        restPerNodePerSecond: restUsPerSecond / gateways,
      };
    } finally {
      for (const p of opened) await p.close();
    }
  }
}
