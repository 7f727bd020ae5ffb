// k6 peak-event rehearsal: one room at once carries a broadcast (the host announcing at RATE/s
// for DURATION s to VIEWERS viewers), a chat storm (CHATTERS of the viewers chatting at
// CHAT_RATE/s, one flooder at FLOODER_RATE/s) and a flash sale (BUYERS buyers tapping for
// STOCK units SALE_AT s into the broadcast). Its thresholds are the correctness checks of the
// three scenarios and every SLO of load-tests/slos.json (docs/slos.md): one pass or fail for
// ops before their event. Same scenario and thresholds as the Node harness
// (load-tests/harness, RehearsalScenario).
//
//   k6 run -e FLASHCAST_URL=wss://live.example.com -e FLASHCAST_JWT_SECRET=... -e ROOM=rehearsal-1 \
//          -e VIEWERS=400 -e CHATTERS=50 -e BUYERS=100 -e STOCK=30 -e DURATION=60 load-tests/k6/peak-rehearsal.js
import exec from 'k6/execution';
import {
  audience,
  auditFlashSale,
  buyer,
  config,
  host,
  mergeThresholds,
  scenarioThresholds,
  schedule,
  seedCounters,
  setupFlashSale,
  sloThresholds,
  summarize,
} from './flashcast.js';

const chatters = Math.min(config.chatters, config.viewers);
const listeners = config.viewers - chatters;
const announcements = Math.round(config.rate * config.durationS) + 1;
const linesPerChatter = Math.round(config.chatRate * config.durationS);
const saleAtS = Number(__ENV.SALE_AT || Math.round(config.durationS / 3));
const leadS = config.startAt ? Math.max(0, (config.startAt - Date.now()) / 1000) : config.joinWaitS;
const runS = Math.ceil(leadS + Math.max(config.durationS + config.drainS, saleAtS + config.tapSpreadS + config.paidWaitS) + 30);
const once = (fn, vus) => ({ executor: 'per-vu-iterations', exec: fn, vus, iterations: 1, maxDuration: `${runS + 15}s` });

export const options = {
  scenarios: Object.assign(
    {},
    listeners > 0 ? { listeners: once('listener', listeners) } : {},
    chatters > 0 ? { chatters: once('chatter', chatters) } : {},
    config.flooderRate > 0 ? { flooder: once('flooder', 1) } : {},
    config.buyers > 0 ? { buyers: once('buyers', config.buyers) } : {},
    config.runHost ? { host: once('publisher', 1) } : {},
  ),
  thresholds: mergeThresholds(
    scenarioThresholds.room(config.viewers + config.buyers), // every viewer and buyer in the room
    scenarioThresholds.broadcast(config.viewers, announcements),
    scenarioThresholds.chat(chatters, linesPerChatter),
    config.buyers > 0 ? scenarioThresholds.sale(config.buyers, config.stock) : {},
    // every SLO
    sloThresholds({ connections: config.viewers + config.buyers + 2, taps: config.buyers, stock: config.stock }),
  ),
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
  setupTimeout: '60s',
  teardownTimeout: `${Number(__ENV.AUDIT_WAIT || 60) + 60}s`,
};

export function setup() {
  seedCounters(Object.keys(options.thresholds));
  const startAt = config.startAt || Date.now() + config.joinWaitS * 1000;
  const sale = config.buyers > 0 ? setupFlashSale((startAt - Date.now()) / 1000 + saleAtS) : null;
  return { startAt, sale };
}

const planOf = (data) => schedule(data.startAt, config.rate, config.durationS);

export const { listener, chatter, flooder } = audience(planOf);

export function buyers(data) {
  buyer(exec.scenario.iterationInTest, data.sale, data.sale.startsAt + Math.random() * config.tapSpreadS * 1000);
}

export function publisher(data) {
  host(planOf(data));
}

export function teardown(data) {
  if (data.sale) auditFlashSale(data.sale, config.buyers);
}

export function handleSummary(data) {
  return summarize(
    data,
    `flashcast peak rehearsal: ${config.viewers} viewers (${chatters} chatting), ${config.buyers} buyers for ${config.stock} units, ${config.rate} msg/s for ${config.durationS} s`,
    [
      ['fc_joined', 'counter'],
      ['fc_critical_received', 'counter'],
      ['fc_critical_lost', 'counter'],
      ['fc_critical_duplicates', 'counter'],
      ['fc_unexpected_close', 'counter'],
      ['fc_announcement_ms', 'trend'],
      ['fc_host_lag_ms', 'trend'],
      ['fc_chat_sent', 'counter'],
      ['fc_chat_accepted', 'rate'],
      ['fc_flood_rate_limited', 'counter'],
      ['fc_chat_deliveries', 'counter'],
      ['fc_buy_answered', 'counter'],
      ['fc_buy_ok', 'counter'],
      ['fc_buy_sold_out', 'counter'],
      ['fc_buy_ms', 'trend'],
      ['fc_paid_ms', 'trend'],
      ['fc_orders_paid', 'counter'],
      ['fc_units_sold', 'counter'],
    ],
  );
}
