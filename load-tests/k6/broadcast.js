// k6 broadcast scenario: VIEWERS viewers join ROOM, a host publishes critical announcements
// at RATE/s for DURATION s, then END; every viewer must get each one, in order, exactly once.
// Same scenario and thresholds as the Node harness (load-tests/harness, BroadcastScenario).
//
//   npm run proto     # generates ./lib/flashcast-proto.cjs
//   k6 run -e FLASHCAST_URL=ws://127.0.0.1:8080 -e FLASHCAST_JWT_SECRET=... \
//          -e VIEWERS=500 -e RATE=20 -e DURATION=30 load-tests/k6/broadcast.js
import exec from 'k6/execution';
import { config, host, mergeThresholds, scenarioThresholds, schedule, seedCounters, sloThresholds, summarize, viewer } from './flashcast.js';

/** Announcements every viewer must receive: RATE × DURATION, and END. */
const announcements = Math.round(config.rate * config.durationS) + 1;
const leadS = config.startAt ? Math.max(0, (config.startAt - Date.now()) / 1000) : config.joinWaitS;
const runS = Math.ceil(leadS + config.durationS + 30 + config.drainS);

export const options = {
  scenarios: Object.assign(
    {
      viewers: { executor: 'per-vu-iterations', exec: 'viewers', vus: config.viewers, iterations: 1, maxDuration: `${runS + 15}s` },
    },
    config.runHost ? { host: { executor: 'per-vu-iterations', exec: 'publisher', vus: 1, iterations: 1, maxDuration: `${runS + 10}s` } } : {},
  ),
  thresholds: mergeThresholds(
    scenarioThresholds.room(config.viewers),
    scenarioThresholds.broadcast(config.viewers, announcements),
    sloThresholds({ connections: config.viewers + 1 }, ['critical_latency_p99', 'critical_loss', 'viewer_disconnects']),
  ),
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
};

export function setup() {
  seedCounters(Object.keys(options.thresholds));
  return { startAt: config.startAt || Date.now() + config.joinWaitS * 1000 };
}

/** One viewer per VU: stays until END (or 30 s after END was due). */
export function viewers(data) {
  const plan = schedule(data.startAt, config.rate, config.durationS);
  viewer(`${config.idPrefix}v${exec.scenario.iterationInTest}`, plan, plan.endDueAt + 30000);
}

/** The host: announces on the schedule, then END. */
export function publisher(data) {
  host(schedule(data.startAt, config.rate, config.durationS));
}

export function handleSummary(data) {
  return summarize(data, `flashcast broadcast: ${config.viewers} viewers, ${config.rate} msg/s, ${config.durationS} s`, [
    ['fc_joined', 'counter'],
    ['fc_critical_received', 'counter'],
    ['fc_critical_lost', 'counter'],
    ['fc_critical_duplicates', 'counter'],
    ['fc_viewer_incomplete', 'counter'],
    ['fc_unexpected_close', 'counter'],
    ['fc_announce_acked', 'counter'],
    ['fc_announce_refused', 'counter'],
    ['fc_announcement_ms', 'trend'],
    ['fc_host_lag_ms', 'trend'],
    ['fc_announce_ack_ms', 'trend'],
  ]);
}
