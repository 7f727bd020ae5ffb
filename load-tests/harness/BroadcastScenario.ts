import { HarnessContext } from './HarnessContext.js';
import { HostPublisher } from './HostPublisher.js';
import { RoomViewer } from './RoomViewer.js';
import { ScenarioReport } from './ScenarioReport.js';

/** Options of the broadcast scenario (k6: load-tests/k6/broadcast.js). */
export interface BroadcastOptions {
  room: string;
  viewers: number;
  /** Host announcements per second. */
  rate: number;
  seconds: number;
}

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
      const joins = await HarnessContext.pool(viewers.length, 50, (i) => viewers[i].join(context, options.room));
      const failed = joins.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      report.count('viewers_joined', viewers.length - failed.length);
      report.check('all viewers joined', failed.length === 0, failed.length ? `${failed.length} failed, first: ${String(failed[0].reason)}` : `${viewers.length}`);
      await host.open(context, options.room);
      context.log(`  broadcast: ${viewers.length - failed.length} viewers in ${options.room}; publishing ${options.rate}/s for ${options.seconds} s`);
      await host.run(options.room, options.rate, options.seconds);
      report.count('announcements_acked', host.acked);
      report.count('announcements_refused', host.refused);
      report.check('every announcement acknowledged', host.refused === 0 && host.endOffset > 0, `${host.acked} ok, ${host.refused} refused`);
      await BroadcastScenario.#drain(viewers, host.endOffset, 10_000);
      BroadcastScenario.#checkStreams(report, viewers, host.endOffset);
    } finally {
      host.close();
      for (const viewer of viewers) viewer.close();
    }
    return report;
  }

  /** Waits until every joined viewer saw END (bounded). */
  static async #drain(viewers: RoomViewer[], endOffset: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && viewers.some((v) => v.stream && !v.unexpectedClose && v.endOffset < endOffset)) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Adds the loss / duplicate / close checks shared with the chat storm. */
  static checkStreams(report: ScenarioReport, viewers: RoomViewer[], endOffset: number): void {
    BroadcastScenario.#checkStreams(report, viewers, endOffset);
  }

  static #checkStreams(report: ScenarioReport, viewers: RoomViewer[], endOffset: number): void {
    let lost = 0;
    let duplicates = 0;
    let received = 0;
    let expected = 0;
    let closed = 0;
    for (const v of viewers) {
      if (!v.stream) continue;
      expected += Math.max(0, endOffset - v.stream.baseOffset);
      lost += v.stream.lostUpTo(endOffset);
      duplicates += v.stream.duplicates;
      received += v.stream.received;
      if (v.unexpectedClose) closed++;
    }
    // What every joined viewer had to receive: the stream from where it joined up to END.
    report.count('critical_expected', expected);
    report.count('critical_received', received);
    report.count('critical_lost', lost);
    report.count('critical_duplicates', duplicates);
    report.check('no critical message lost', lost === 0, `${lost} lost`);
    report.check('no critical message duplicated', duplicates === 0, `${duplicates} duplicates`);
    report.check('no viewer disconnected', closed === 0, `${closed} closed by the server`);
  }
}
