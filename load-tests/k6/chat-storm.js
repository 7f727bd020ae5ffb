// k6 chat storm (k6 v0.48): VIEWERS viewers in ROOM, CHATTERS of them chatting at
// CHAT_RATE/s (under the per-viewer limit), one flooder at FLOODER_RATE/s (must be
// rate limited), and the host announcing critical messages at ANNOUNCE_RATE/s,
// which no viewer may lose while the room is busy. Chat is best-effort (sampled):
// its deliveries are counted, not required. Same scenario as the Node harness
// (load-tests/harness, ChatStormScenario).
//
//   k6 run -e FLASHCAST_URL=ws://127.0.0.1:8080 -e FLASHCAST_JWT_SECRET=... \
//          -e VIEWERS=2000 -e CHATTERS=200 -e DURATION=30 load-tests/k6/chat-storm.js
import { config, host, summarize, viewer } from './flashcast.js';

const viewerSeconds = config.joinWaitS + config.durationS + 30;
const listeners = Math.max(0, config.viewers - config.chatters);

export const options = {
  scenarios: {
    listeners: {
      executor: 'per-vu-iterations',
      exec: 'listener',
      vus: Math.max(1, listeners),
      iterations: 1,
      maxDuration: `${viewerSeconds + 10}s`,
    },
    chatters: {
      executor: 'per-vu-iterations',
      exec: 'chatter',
      vus: Math.max(1, config.chatters),
      iterations: 1,
      startTime: `${Math.max(0, config.joinWaitS - 5)}s`,
      maxDuration: `${viewerSeconds + 10}s`,
    },
    flooder: {
      executor: 'per-vu-iterations',
      exec: 'flooder',
      vus: 1,
      iterations: 1,
      startTime: `${config.joinWaitS}s`,
      maxDuration: `${config.durationS + 40}s`,
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
    fc_announce_refused: ['count==0'],
    'fc_chat_accepted{scenario:chatters}': ['rate>0.99'],
    fc_flood_rate_limited: ['count>0'],
    fc_announcement_ms: ['p(99)<50'],
  },
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
};

export function listener() {
  viewer(`k6l${__VU}`, viewerSeconds);
}

export function chatter() {
  viewer(`k6c${__VU}`, viewerSeconds, { rate: config.chatRate, seconds: config.durationS + 5 });
}

export function flooder() {
  viewer('k6-flooder', config.durationS + 30, { rate: config.flooderRate, seconds: config.durationS, flooder: true });
}

export function publisher() {
  host(config.announceRate, config.durationS);
}

export function handleSummary(data) {
  return summarize(data, `flashcast chat storm: ${config.viewers} viewers, ${config.chatters} chatters at ${config.chatRate}/s`, [
    ['fc_join_ok', 'rate'],
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
  ]);
}
