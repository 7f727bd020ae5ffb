import { BroadcastScenario } from './BroadcastScenario.js';
import { ChatStormScenario } from './ChatStormScenario.js';
import { FlashSale } from './FlashSale.js';
import type { HarnessContext } from './HarnessContext.js';
import { HostPublisher } from './HostPublisher.js';
import { RoomViewer } from './RoomViewer.js';
import { ScenarioReport } from './ScenarioReport.js';
import { SloThresholds } from './SloThresholds.js';

/** Options of the peak-event rehearsal (k6: load-tests/k6/peak-rehearsal.js). */
export interface RehearsalOptions {
  room: string;
  viewers: number;
  /** Viewers that chat (the first `chatters`). */
  chatters: number;
  chatRate: number;
  flooderRate: number;
  /** Host announcements per second for `seconds`. */
  rate: number;
  seconds: number;
  buyers: number;
  stock: number;
  /** The deal goes live this long after the broadcast starts (at least 10 s). */
  saleAtS: number;
  tapSpreadS: number;
  paidWaitS: number;
  idPrefix: string;
  /** Latency SLO bounds decide the run (default: reported only). */
  enforceLatency?: boolean;
}

/**
 * A peak event in one room at once: the host broadcasts, viewers chat (one floods), buyers
 * tap for a flash sale. Its checks are those of the three scenarios, and its SLO bounds every
 * SLO of load-tests/slos.json: the same pass or fail as the k6 rehearsal.
 */
export class RehearsalScenario {
  static readonly scenarioName = 'rehearsal';

  /** Runs the scenario and returns its report. */
  static async run(context: HarnessContext, options: RehearsalOptions): Promise<ScenarioReport> {
    const report = new ScenarioReport(RehearsalScenario.scenarioName);
    const viewers = Array.from({ length: options.viewers }, (_, i) => new RoomViewer(`rv${i}`, report));
    const host = new HostPublisher(report);
    const flooder = options.flooderRate > 0 ? new RoomViewer('rflooder', report, { tracked: false }) : null;
    try {
      await BroadcastScenario.joinAll(context, report, viewers, options.room);
      await host.open(context, options.room);
      if (flooder) await flooder.join(context, options.room);
      const sale = options.buyers > 0 ? await FlashSale.open(context, { ...options, countdownS: options.saleAtS }) : null;
      context.log(
        `  rehearsal: ${options.viewers} viewers (${options.chatters} chatting), ${options.buyers} buyers for ${options.stock} units, ${options.rate}/s for ${options.seconds} s`,
      );
      await Promise.all([
        host.run(options.room, options.rate, options.seconds),
        ChatStormScenario.storm(options, viewers.slice(0, options.chatters), flooder, report),
        sale ? sale.runBuyers(context, report) : Promise.resolve(),
      ]);
      const announcements = Math.round(options.rate * options.seconds) + 1;
      BroadcastScenario.checkHost(report, host, announcements);
      await BroadcastScenario.drain(viewers, host.finalOffset, 10_000);
      report.count('chat_deliveries', viewers.reduce((n, v) => n + v.chats, 0));
      BroadcastScenario.checkStreams(report, viewers, host.finalOffset, announcements);
      if (sale) {
        await sale.audit(context, report);
        sale.check(report);
      }
      const ids = SloThresholds.objectives()
        .map((o) => o.id)
        .filter((id) => options.buyers > 0 || !['tap_latency_p99', 'tap_unavailable', 'no_oversell', 'paid_within'].includes(id));
      SloThresholds.evaluate(report, { connections: options.viewers + options.buyers + 2, taps: options.buyers, stock: options.stock }, ids, options.enforceLatency ?? false);
    } finally {
      host.close();
      flooder?.close();
      for (const viewer of viewers) viewer.close();
    }
    return report;
  }
}
