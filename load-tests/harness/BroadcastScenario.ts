import { HarnessContext } from './HarnessContext.js';
import { HostPublisher } from './HostPublisher.js';
import { RoomViewer } from './RoomViewer.js';
import { ScenarioReport } from './ScenarioReport.js';
import { SloThresholds } from './SloThresholds.js';

/** Options of the broadcast scenario (k6: load-tests/k6/broadcast.js). */
export interface BroadcastOptions {
  room: string;
  viewers: number;
  /** Host announcements per second. */
  rate: number;
  seconds: number;
  /** Latency SLO bounds decide the run (default: reported only). */
  enforceLatency?: boolean;
}

/** The SLOs a room's critical stream answers to (load-tests/slos.json). */
export const STREAM_SLOS = ['critical_latency_p99', 'critical_loss', 'viewer_disconnects'];

/**
 * Viewers join a room; a host publishes critical announcements at a fixed rate;
 * every viewer must receive every one, in order, exactly once.
 */
export class BroadcastScenario {
  static readonly scenarioName = 'broadcast';

  /** Runs the scenario and returns its report. */
  static async run(context: HarnessContext, options: BroadcastOptions): Promise<ScenarioReport> {
    const report = new ScenarioReport(BroadcastScenario.scenarioName);
    const viewers = Array.from({ length: options.viewers }, (_, i) => new RoomViewer(`hv${i}`, report));
    const host = new HostPublisher(report);
    try {
      const failed = await BroadcastScenario.joinAll(context, report, viewers, options.room);
      await host.open(context, options.room);
      context.log(`  broadcast: ${viewers.length - failed} viewers in ${options.room}; publishing ${options.rate}/s for ${options.seconds} s`);
      await host.run(options.room, options.rate, options.seconds);
      BroadcastScenario.checkHost(report, host, Math.round(options.rate * options.seconds) + 1);
      await BroadcastScenario.drain(viewers, host.finalOffset, 10_000);
      BroadcastScenario.checkStreams(report, viewers, host.finalOffset, Math.round(options.rate * options.seconds) + 1);
      SloThresholds.evaluate(report, { connections: viewers.length + 1 }, STREAM_SLOS, options.enforceLatency ?? false);
    } finally {
      host.close();
      for (const viewer of viewers) viewer.close();
    }
    return report;
  }

  /** Joins every viewer (50 at a time); checks that all joined. Returns how many failed. */
  static async joinAll(context: HarnessContext, report: ScenarioReport, viewers: RoomViewer[], room: string): Promise<number> {
    const joins = await HarnessContext.pool(viewers.length, 50, (i) => viewers[i].join(context, room));
    const failed = joins.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    report.count('joined', viewers.length - failed.length);
    report.count('join_failed', failed.length);
    report.check('all viewers joined', failed.length === 0, failed.length ? `${failed.length} failed, first: ${String(failed[0].reason)}` : `${viewers.length}`);
    return failed.length;
  }

  /** The host's checks: every announcement (and END) acknowledged, none refused. */
  static checkHost(report: ScenarioReport, host: HostPublisher, announcements: number): void {
    report.count('announce_acked', host.acked);
    report.count('announce_refused', host.refused);
    report.check('every announcement acknowledged', host.refused === 0 && host.acked >= announcements, `${host.acked}/${announcements} ok, ${host.refused} refused`);
  }

  /** Waits until every connected viewer has everything up to `finalOffset` (bounded). */
  static async drain(viewers: RoomViewer[], finalOffset: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && viewers.some((v) => v.stream && !v.unexpectedClose && v.stream.lastOffset < finalOffset)) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * The stream checks shared with the chat storm and the rehearsal: what every joined viewer
   * should have had by the end (up to END, or up to the host's last acknowledged offset when
   * END never came, also for a viewer the server closed) against what it received.
   */
  static checkStreams(report: ScenarioReport, viewers: RoomViewer[], finalOffset: number, announcements: number): void {
    let lost = 0;
    let duplicates = 0;
    let received = 0;
    let expected = 0;
    let incomplete = 0;
    for (const v of viewers) {
      if (!v.stream) continue;
      expected += Math.max(0, finalOffset - v.stream.baseOffset);
      lost += v.stream.lostUpTo(finalOffset);
      duplicates += v.stream.duplicates;
      received += v.stream.received;
      if (v.endOffset === 0) incomplete++;
    }
    report.count('critical_expected', expected);
    report.count('critical_received', received);
    report.count('critical_lost', lost);
    report.count('critical_duplicates', duplicates);
    report.count('viewer_incomplete', incomplete);
    const minimum = viewers.length * announcements;
    report.check('every viewer received every announcement', received >= minimum, `${received} received, at least ${minimum} (${viewers.length} × ${announcements})`);
    report.check('every viewer saw END', incomplete === 0, `${incomplete} did not`);
  }
}
