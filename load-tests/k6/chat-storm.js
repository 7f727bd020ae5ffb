// k6 chat storm: VIEWERS viewers in ROOM, CHATTERS of them chatting at CHAT_RATE/s (under the
// per-viewer limit) for DURATION s, one flooder at FLOODER_RATE/s (must be rate limited), and
// the host announcing critical messages at ANNOUNCE_RATE/s, which no viewer may lose while the
// room is busy. Chat is best-effort (sampled): its deliveries are counted, not required. Same
// scenario and thresholds as the Node harness (load-tests/harness, ChatStormScenario).
//
//   k6 run -e FLASHCAST_URL=ws://127.0.0.1:8080 -e FLASHCAST_JWT_SECRET=... \
//          -e VIEWERS=500 -e CHATTERS=100 -e DURATION=30 load-tests/k6/chat-storm.js
import { audience, config, host, mergeThresholds, scenarioThresholds, schedule, seedCounters, sloThresholds, summarize } from './flashcast.js';

const chatters = Math.min(config.chatters, config.viewers);
const listeners = config.viewers - chatters;
const announcements = Math.round(config.announceRate * config.durationS) + 1;
/** Chat lines each chatter sends. */
const linesPerChatter = Math.round(config.chatRate * config.durationS);
const leadS = config.startAt ? Math.max(0, (config.startAt - Date.now()) / 1000) : config.joinWaitS;
const runS = Math.ceil(leadS + config.durationS + 30 + config.drainS);
const once = (exec, vus) => ({ executor: 'per-vu-iterations', exec, vus, iterations: 1, maxDuration: `${runS + 15}s` });

export const options = {
  scenarios: Object.assign(
    {},
    listeners > 0 ? { listeners: once('listener', listeners) } : {},
    chatters > 0 ? { chatters: once('chatter', chatters) } : {},
    config.flooderRate > 0 ? { flooder: once('flooder', 1) } : {},
    config.runHost ? { host: once('publisher', 1) } : {},
  ),
  thresholds: mergeThresholds(
    scenarioThresholds.room(config.viewers),
    scenarioThresholds.broadcast(config.viewers, announcements),
    scenarioThresholds.chat(chatters, linesPerChatter),
    sloThresholds({ connections: config.viewers + 2 }, ['critical_latency_p99', 'critical_loss', 'viewer_disconnects']),
  ),
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
};

export function setup() {
  seedCounters(Object.keys(options.thresholds));
  return { startAt: config.startAt || Date.now() + config.joinWaitS * 1000 };
}

const planOf = (data) => schedule(data.startAt, config.announceRate, config.durationS);

export const { listener, chatter, flooder } = audience(planOf);

export function publisher(data) {
  host(planOf(data));
}

export function handleSummary(data) {
  return summarize(data, `flashcast chat storm: ${config.viewers} viewers, ${chatters} chatters at ${config.chatRate}/s, flooder at ${config.flooderRate}/s`, [
    ['fc_joined', 'counter'],
    ['fc_critical_received', 'counter'],
    ['fc_critical_lost', 'counter'],
    ['fc_critical_duplicates', 'counter'],
    ['fc_viewer_incomplete', 'counter'],
    ['fc_unexpected_close', 'counter'],
    ['fc_chat_sent', 'counter'],
    ['fc_chat_accepted', 'rate'],
    ['fc_chat_rate_limited', 'counter'],
    ['fc_flood_rate_limited', 'counter'],
    ['fc_chat_deliveries', 'counter'],
    ['fc_chat_delivery_ms', 'trend'],
    ['fc_announcement_ms', 'trend'],
    ['fc_host_lag_ms', 'trend'],
  ]);
}
