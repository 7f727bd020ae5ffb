// k6 flash sale: setup() opens a shop, a product with STOCK units, the room's showcase and pin
// and a deal over the HTTP API (as the shop's host); BUYERS buyers, each with a saved card, join
// ROOM and tap once during the first TAP_SPREAD s of the deal; winners wait for PAID on their
// socket; teardown() reads every buyer's orders from the server (PostgreSQL, over HTTP). It
// fails on an oversell, a tap without an answer, an answer other than a unit or SOLD_OUT, a
// winner not paid, or the SLOs (tap latency, paid within). Same scenario and thresholds as the
// Node harness (load-tests/harness, FlashSaleScenario).
//
//   k6 run -e FLASHCAST_URL=ws://127.0.0.1:8080 -e FLASHCAST_JWT_SECRET=... \
//          -e BUYERS=500 -e STOCK=100 load-tests/k6/flash-sale.js
import exec from 'k6/execution';
import { auditFlashSale, buyer, config, mergeThresholds, scenarioThresholds, seedCounters, setupFlashSale, sloThresholds, summarize } from './flashcast.js';

const runS = Math.ceil(Math.max(10, config.joinWaitS) + config.tapSpreadS + config.paidWaitS + 30);

export const options = {
  scenarios: {
    buyers: { executor: 'per-vu-iterations', exec: 'buyers', vus: config.buyers, iterations: 1, maxDuration: `${runS}s` },
  },
  thresholds: mergeThresholds(
    scenarioThresholds.room(config.buyers),
    scenarioThresholds.sale(config.buyers, config.stock),
    sloThresholds({ taps: config.buyers, stock: config.stock, connections: config.buyers }, [
      'tap_latency_p99',
      'tap_unavailable',
      'no_oversell',
      'paid_within',
      'viewer_disconnects',
    ]),
  ),
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
  setupTimeout: '60s',
  teardownTimeout: `${Number(__ENV.AUDIT_WAIT || 60) + 60}s`,
};

export function setup() {
  seedCounters(Object.keys(options.thresholds));
  return setupFlashSale(config.joinWaitS);
}

/** One buyer per VU: taps once, within TAP_SPREAD s of the deal going live. */
export function buyers(sale) {
  buyer(exec.scenario.iterationInTest, sale, sale.startsAt + Math.random() * config.tapSpreadS * 1000);
}

export function teardown(sale) {
  auditFlashSale(sale, config.buyers);
}

export function handleSummary(data) {
  return summarize(data, `flashcast flash sale: ${config.buyers} buyers, ${config.stock} units`, [
    ['fc_joined', 'counter'],
    ['fc_buy_taps', 'counter'],
    ['fc_buy_answered', 'counter'],
    ['fc_buy_unanswered', 'counter'],
    ['fc_buy_ok', 'counter'],
    ['fc_buy_sold_out', 'counter'],
    ['fc_buy_other', 'counter'],
    ['fc_buy_unavailable', 'counter'],
    ['fc_buy_ms', 'trend'],
    ['fc_orders_paid_pushed', 'counter'],
    ['fc_orders_failed_pushed', 'counter'],
    ['fc_paid_ms', 'trend'],
    ['fc_orders_paid', 'counter'],
    ['fc_units_sold', 'counter'],
    ['fc_unexpected_close', 'counter'],
  ]);
}
