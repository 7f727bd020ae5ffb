// k6 broadcast scenario (k6 v0.48): VIEWERS viewers join ROOM, a host publishes
// critical announcements at RATE/s for DURATION s, every viewer must get each one,
// in order, exactly once. Same scenario as the Node harness (load-tests/harness,
// BroadcastScenario) and the broadcast benchmark (load-tests/bench).
//
//   npm run proto     # generates ./lib/flashcast-proto.js
//   k6 run -e FLASHCAST_URL=ws://127.0.0.1:8080 -e FLASHCAST_JWT_SECRET=... \
//          -e VIEWERS=5000 -e RATE=20 -e DURATION=30 load-tests/k6/broadcast.js
import { config, host, summarize, viewer } from './flashcast.js';

const viewerSeconds = config.joinWaitS + config.durationS + 30;

export const options = {
  scenarios: {
    viewers: {
      executor: 'per-vu-iterations',
      exec: 'viewers',
      vus: config.viewers,
      iterations: 1,
      maxDuration: `${viewerSeconds + 10}s`,
    },
    host: {
      executor: 'per-vu-iterations',
      exec: 'publisher',
      vus: 1,
      iterations: 1,
      startTime: `${config.joinWaitS}s`,
      maxDuration: `${config.durationS + 30}s`,
    },
  },
  thresholds: {
    fc_join_ok: ['rate>0.99'],
    fc_critical_lost: ['count==0'],
    fc_critical_duplicates: ['count==0'],
    fc_viewer_incomplete: ['count==0'],
    fc_unexpected_close: ['count==0'],
    fc_announce_refused: ['count==0'],
    fc_announcement_ms: ['p(99)<50'],
  },
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
};

/** One viewer per VU: stays until END (or the deadline). */
export function viewers() {
  viewer(`k6v${__VU}`, viewerSeconds);
}

/** The host. */
export function publisher() {
  host(config.rate, config.durationS);
}

export function handleSummary(data) {
  return summarize(data, `flashcast broadcast: ${config.viewers} viewers, ${config.rate} msg/s, ${config.durationS} s`, [
    ['fc_join_ok', 'rate'],
    ['fc_critical_received', 'counter'],
    ['fc_critical_lost', 'counter'],
    ['fc_critical_duplicates', 'counter'],
    ['fc_viewer_incomplete', 'counter'],
    ['fc_unexpected_close', 'counter'],
    ['fc_announce_refused', 'counter'],
    ['fc_announcement_ms', 'trend'],
    ['fc_announce_ack_ms', 'trend'],
  ]);
}
