import { FlashSale } from './FlashSale.js';
import type { HarnessContext } from './HarnessContext.js';
import { ScenarioReport } from './ScenarioReport.js';
import { SloThresholds } from './SloThresholds.js';

/** Options of the flash-sale scenario (k6: load-tests/k6/flash-sale.js). */
export interface FlashSaleScenarioOptions {
  room: string;
  buyers: number;
  stock: number;
  tapSpreadS: number;
  paidWaitS: number;
  idPrefix: string;
  /** Latency SLO bounds decide the run (default: reported only). */
  enforceLatency?: boolean;
}

/** The SLOs of a flash sale (load-tests/slos.json). */
export const SALE_SLOS = ['tap_latency_p99', 'tap_unavailable', 'no_oversell', 'paid_within', 'viewer_disconnects'];

/**
 * Buyers with a saved card tap once each for a deal with less stock than buyers: every tap
 * is answered, exactly the stock is sold and paid (PostgreSQL, read back over HTTP), nothing
 * oversold.
 */
export class FlashSaleScenario {
  static readonly scenarioName = 'flash-sale';

  /** Runs the scenario and returns its report. */
  static async run(context: HarnessContext, options: FlashSaleScenarioOptions): Promise<ScenarioReport> {
    const report = new ScenarioReport(FlashSaleScenario.scenarioName);
    const sale = await FlashSale.open(context, { ...options, countdownS: 10 });
    context.log(`  flash-sale: ${options.buyers} buyers for ${options.stock} units in ${options.room}, live in ${Math.round((sale.startsAt - Date.now()) / 1000)} s`);
    await sale.runBuyers(context, report);
    await sale.audit(context, report);
    sale.check(report);
    SloThresholds.evaluate(report, { taps: options.buyers, stock: options.stock, connections: options.buyers }, SALE_SLOS, options.enforceLatency ?? false);
    return report;
  }
}
