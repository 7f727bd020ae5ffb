import { randomBytes } from 'node:crypto';
import { HarnessContext } from './HarnessContext.js';
import { HostPublisher } from './HostPublisher.js';
import { RoomViewer } from './RoomViewer.js';
import { ScenarioReport } from './ScenarioReport.js';
import { BroadcastScenario, STREAM_SLOS } from './BroadcastScenario.js';
import { SloThresholds } from './SloThresholds.js';
import { RequestError } from './FlashcastClient.js';

/** Options of the chat storm (k6: load-tests/k6/chat-storm.js). */
export interface ChatStormOptions {
  room: string;
  viewers: number;
  /** Viewers that chat (the first `chatters` viewers). */
  chatters: number;
  /** Messages per second per chatter: stay under the per-viewer limit. */
  chatRate: number;
  /** One more viewer that chats this fast, to be rate limited (0 = none). */
  flooderRate: number;
  /** Critical announcements per second during the storm. */
  announceRate: number;
  seconds: number;
  /** Latency SLO bounds decide the run (default: reported only). */
  enforceLatency?: boolean;
}

/** The least spacing of a legal chatter's lines (the server allows 3/s, burst 6), as the k6 chatters. */
const CHAT_GAP_MS = 340;

/**
 * A chat storm: many viewers chat at a legal rate while the host keeps publishing
 * critical messages and one viewer floods. Chat is best-effort (sampled, dropped for
 * lagging sockets) so its deliveries are counted, not required; what must hold is
 * that legal chat is accepted, the flooder is limited, and no critical message is
 * lost while the room is busy.
 */
export class ChatStormScenario {
  static readonly scenarioName = 'chat-storm';

  /** Runs the scenario and returns its report. */
  static async run(context: HarnessContext, options: ChatStormOptions): Promise<ScenarioReport> {
    const report = new ScenarioReport(ChatStormScenario.scenarioName);
    const viewers = Array.from({ length: options.viewers }, (_, i) => new RoomViewer(`cv${i}`, report));
    const host = new HostPublisher(report);
    const flooder = options.flooderRate > 0 ? new RoomViewer('flooder', report, { tracked: false }) : null;
    try {
      await BroadcastScenario.joinAll(context, report, viewers, options.room);
      await host.open(context, options.room);
      if (flooder) await flooder.join(context, options.room);
      context.log(`  chat-storm: ${options.chatters} chatters at ${options.chatRate}/s, flooder at ${options.flooderRate}/s, ${options.seconds} s`);
      const chat = ChatStormScenario.storm(options, viewers.slice(0, options.chatters), flooder, report);
      await Promise.all([host.run(options.room, options.announceRate, options.seconds), chat]);
      const announcements = Math.round(options.announceRate * options.seconds) + 1;
      BroadcastScenario.checkHost(report, host, announcements);
      await BroadcastScenario.drain(viewers, host.finalOffset, 10_000);
      report.count('chat_deliveries', viewers.reduce((n, v) => n + v.chats, 0));
      BroadcastScenario.checkStreams(report, viewers, host.finalOffset, announcements);
      SloThresholds.evaluate(report, { connections: viewers.length + 2 }, STREAM_SLOS, options.enforceLatency ?? false);
    } finally {
      host.close();
      flooder?.close();
      for (const viewer of viewers) viewer.close();
    }
    return report;
  }

  /**
   * The storm (shared with the rehearsal): `chatters` chat at the legal rate and `flooder`
   * floods for `seconds`; adds the chat counters and checks (every line sent and 99%
   * accepted, the flooder limited) once every line is answered.
   */
  static async storm(
    options: Pick<ChatStormOptions, 'room' | 'chatRate' | 'flooderRate' | 'seconds'>,
    chatters: RoomViewer[],
    flooder: RoomViewer | null,
    report: ScenarioReport,
  ): Promise<void> {
    const stats = { sent: 0, accepted: 0, limited: 0, errors: 0 };
    const flood = { sent: 0, accepted: 0, limited: 0, errors: 0 };
    const open = chatters.filter((v) => v.client);
    await Promise.all([
      ...open.map((v, i) => ChatStormScenario.#chat(v, options.room, options.chatRate, options.seconds, (i * 1000) / open.length / options.chatRate, report, stats)),
      flooder ? ChatStormScenario.#chat(flooder, options.room, options.flooderRate, options.seconds, 0, report, flood) : Promise.resolve(),
    ]);
    report.count('chat_sent', stats.sent);
    report.count('chat_accepted', stats.accepted);
    report.count('chat_rate_limited', stats.limited);
    report.count('chat_errors', stats.errors);
    report.count('flood_sent', flood.sent);
    report.count('flood_rate_limited', flood.limited);
    const lines = chatters.length * Math.round(options.chatRate * options.seconds);
    report.check(
      'legal chat sent and accepted',
      stats.sent >= lines && stats.accepted >= stats.sent * 0.99,
      `${stats.sent}/${lines} sent, ${stats.accepted} accepted, ${stats.limited} rate limited, ${stats.errors} errors`,
    );
    if (flooder) {
      report.check('flooder rate limited', flood.limited > 0 || flooder.unexpectedClose === 4004, `${flood.limited} RATE_LIMITED of ${flood.sent}, close code ${flooder.unexpectedClose || '-'}`);
    }
  }

  static async #chat(
    viewer: RoomViewer,
    room: string,
    rate: number,
    seconds: number,
    phaseMs: number,
    report: ScenarioReport,
    stats: { sent: number; accepted: number; limited: number; errors: number },
  ): Promise<void> {
    const client = viewer.client;
    if (!client) return;
    const total = Math.round(rate * seconds);
    const start = Date.now() + phaseMs;
    const inFlight: Promise<void>[] = [];
    // A late legal chatter catches up at most at the server's chat rate (as the k6 chatters); the flooder does not.
    const gap = viewer.tracked ? CHAT_GAP_MS : 0;
    let sentAt = 0;
    for (let i = 0; i < total && client.isOpen; i++) {
      const wait = Math.max(start + (i * 1000) / rate, sentAt + gap) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt = Date.now();
      const lineAt = sentAt;
      stats.sent++;
      inFlight.push(
        client
          .request({ chat: { room, text: `${i}|${lineAt}`, clientMsgId: randomBytes(6).toString('base64url') } })
          .then(() => {
            stats.accepted++;
            report.time('chat_ack_ms', Date.now() - lineAt);
          })
          .catch((error: unknown) => {
            if (error instanceof RequestError && (error.code === 'RATE_LIMITED' || error.code === 'SLOW_MODE')) stats.limited++;
            else stats.errors++;
          }),
      );
    }
    await Promise.all(inFlight);
  }
}
