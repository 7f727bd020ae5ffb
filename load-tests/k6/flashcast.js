// Shared helpers of the Flashcast k6 scripts (k6 v0.48): tokens, frames, and the
// viewer / host / chatter behaviours used by broadcast.js and chat-storm.js.
// The Node harness (load-tests/harness/) runs the same scenarios in CI.
//
// The protobuf codec is generated from protocol/flashcast.proto by `npm run proto`
// into ./lib/flashcast-proto.js (self-contained ESM, no Node APIs).
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout, setInterval, clearInterval, clearTimeout } from 'k6/experimental/timers';
import { Counter, Rate, Trend } from 'k6/metrics';
import { flashcast } from './lib/flashcast-proto.js';

/** Configuration from the environment (k6 run -e NAME=value). */
export const config = {
  url: (__ENV.FLASHCAST_URL || 'ws://127.0.0.1:8080').replace(/\/+$/, ''),
  secret: __ENV.FLASHCAST_JWT_SECRET || 'flashcast-dev-secret-change-me',
  room: __ENV.ROOM || 'k6-bench',
  viewers: Number(__ENV.VIEWERS || 1000),
  rate: Number(__ENV.RATE || 20),
  durationS: Number(__ENV.DURATION || 30),
  /** Seconds given to viewers to connect and join before the host starts. */
  joinWaitS: Number(__ENV.JOIN_WAIT || 15),
  chatters: Number(__ENV.CHATTERS || 100),
  chatRate: Number(__ENV.CHAT_RATE || 2),
  flooderRate: Number(__ENV.FLOODER_RATE || 20),
  announceRate: Number(__ENV.ANNOUNCE_RATE || 2),
  summaryFile: __ENV.SUMMARY_FILE || '',
};

/** Text of the host's last announcement: viewers stop when they see it. */
export const END_TEXT = 'END';

export const metrics = {
  joinOk: new Rate('fc_join_ok'),
  criticalReceived: new Counter('fc_critical_received'),
  criticalLost: new Counter('fc_critical_lost'),
  criticalDuplicates: new Counter('fc_critical_duplicates'),
  viewerIncomplete: new Counter('fc_viewer_incomplete'),
  unexpectedClose: new Counter('fc_unexpected_close'),
  announcementMs: new Trend('fc_announcement_ms', true),
  announceAckMs: new Trend('fc_announce_ack_ms', true),
  announceRefused: new Counter('fc_announce_refused'),
  chatSent: new Counter('fc_chat_sent'),
  chatAccepted: new Rate('fc_chat_accepted'),
  chatRateLimited: new Counter('fc_chat_rate_limited'),
  chatDeliveries: new Counter('fc_chat_deliveries'),
  chatDeliveryMs: new Trend('fc_chat_delivery_ms', true),
  floodLimited: new Counter('fc_flood_rate_limited'),
};

function b64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

/** Mints an HS256 JWT exactly as server/auth/TokenService does. */
export function mintToken(sub, role, rooms) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { role, sub, iss: 'flashcast', iat: now, exp: now + 3600 };
  if (rooms) claims.rooms = rooms;
  const unsigned = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${unsigned}.${crypto.hmac('sha256', config.secret, unsigned, 'base64rawurl')}`;
}

/** Encodes a ClientFrame into an ArrayBuffer (what ws.send wants for binary). */
export function encode(frame) {
  frame.v = 1;
  const bytes = flashcast.ClientFrame.encode(frame).finish();
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** Decodes a binary message into a ServerFrame. */
export function decode(data) {
  return flashcast.ServerFrame.decode(new Uint8Array(data));
}

/**
 * Opens a Flashcast connection; `onFrame(frame, client)` sees every frame after
 * Connected. Returns a client with request(frame, onReply) and close().
 */
export function connect(token, onOpen, onFrame, onClose) {
  const ws = new WebSocket(`${config.url}/ws?token=${token}`);
  ws.binaryType = 'arraybuffer';
  let nextRid = 1;
  let closing = false;
  let pingTimer = null;
  const pending = {};
  const client = {
    ws,
    request(frame, onReply) {
      const rid = nextRid++;
      frame.rid = rid;
      pending[rid] = onReply;
      ws.send(encode(frame));
      return rid;
    },
    close() {
      closing = true;
      if (pingTimer) clearInterval(pingTimer);
      ws.close();
    },
  };
  ws.onmessage = (event) => {
    const frame = decode(event.data);
    if (frame.connected) {
      const interval = Number(frame.connected.pingIntervalMs || 0);
      if (interval > 0) pingTimer = setInterval(() => ws.send(encode({ rid: 0, ping: { clientTime: Date.now() } })), Math.max(1000, interval / 2));
      onOpen(client);
      return;
    }
    if (frame.rid > 0 && pending[frame.rid]) {
      const handler = pending[frame.rid];
      delete pending[frame.rid];
      handler(frame);
      return;
    }
    onFrame(frame, client);
  };
  ws.onclose = (event) => {
    if (pingTimer) clearInterval(pingTimer);
    if (!closing) metrics.unexpectedClose.add(1, { code: String(event && event.code) });
    if (onClose) onClose(closing);
  };
  ws.onerror = () => {};
  return client;
}

/**
 * A viewer: joins the room, checks that critical events carry consecutive offsets,
 * times announcements (`<seq>|<ms>`) and chat, and stops at END or after
 * `maxSeconds`. With `chat` ({rate, seconds}) it also chats at that rate.
 */
export function viewer(id, maxSeconds, chat) {
  // The flooder may be disconnected for flooding: its stream is not checked.
  const track = !(chat && chat.flooder);
  let base = -1;
  let last = 0;
  let received = 0;
  let done = false;
  let chatTimer = null;
  let deadline = null;
  const finish = (client, endOffset) => {
    if (done) return;
    done = true;
    if (chatTimer) clearInterval(chatTimer);
    if (deadline) clearTimeout(deadline);
    if (base >= 0 && track) {
      if (endOffset > 0) metrics.criticalLost.add(Math.max(0, endOffset - base - received));
      else metrics.viewerIncomplete.add(1);
    }
    client.close();
  };
  connect(
    mintToken(id, 'viewer'),
    (client) => {
      deadline = setTimeout(() => finish(client, 0), maxSeconds * 1000);
      client.request({ join: { room: config.room } }, (reply) => {
        metrics.joinOk.add(!!reply.joined);
        if (!reply.joined) return finish(client, 0);
        base = Number(reply.joined.offset || 0);
        last = base;
        if (chat && chat.rate > 0) {
          let sent = 0;
          const total = Math.round(chat.rate * chat.seconds);
          chatTimer = setInterval(() => {
            if (sent >= total) return clearInterval(chatTimer);
            const sentAt = Date.now();
            metrics.chatSent.add(1);
            client.request({ chat: { room: config.room, text: `${sent++}|${sentAt}`, clientMsgId: `${id}-${sent}` } }, (r) => {
              metrics.chatAccepted.add(!!r.chatAccepted);
              if (r.error && (r.error.code === 'RATE_LIMITED' || r.error.code === 'SLOW_MODE')) {
                (chat.flooder ? metrics.floodLimited : metrics.chatRateLimited).add(1);
              }
            });
          }, 1000 / chat.rate);
        }
      });
    },
    (frame, client) => {
      const event = frame.event;
      if (!event) return;
      const offset = Number(event.offset || 0);
      if (offset > 0 && base >= 0) {
        if (offset > last) {
          received++;
          last = offset;
          if (track) metrics.criticalReceived.add(1);
        } else if (track) {
          metrics.criticalDuplicates.add(1);
        }
        const text = (event.announcement && event.announcement.text) || '';
        const sentAt = Number(text.split('|')[1]);
        if (sentAt > 0) metrics.announcementMs.add(Date.now() - sentAt);
        if (text === END_TEXT) finish(client, offset);
      } else if (event.chat) {
        metrics.chatDeliveries.add(1);
        const sentAt = Number((event.chat.text || '').split('|')[1]);
        if (sentAt > 0) metrics.chatDeliveryMs.add(Date.now() - sentAt);
      }
    },
    () => {
      if (!done) {
        done = true;
        if (chatTimer) clearInterval(chatTimer);
        if (deadline) clearTimeout(deadline);
        if (base >= 0 && track) metrics.viewerIncomplete.add(1);
      }
    },
  );
}

/** The host: joins, announces `rate`/s for `seconds` (text `<seq>|<ms>`), then END. */
export function host(rate, seconds) {
  connect(
    mintToken('k6-host', 'host', [config.room]),
    (client) => {
      client.request({ join: { room: config.room } }, (reply) => {
        if (!reply.joined) throw new Error(`host could not join: ${reply.error && reply.error.code}`);
        const total = Math.round(rate * seconds);
        let seq = 0;
        let answered = 0;
        const announce = (text) => {
          const sentAt = Date.now();
          client.request({ announce: { room: config.room, text } }, (r) => {
            answered++;
            if (r.ok) metrics.announceAckMs.add(Date.now() - sentAt);
            else metrics.announceRefused.add(1, { code: (r.error && r.error.code) || 'UNKNOWN' });
            if (text === END_TEXT) client.close();
            else if (answered === total) announce(END_TEXT);
          });
        };
        const timer = setInterval(() => {
          if (seq >= total) return clearInterval(timer);
          announce(`${seq++}|${Date.now()}`);
        }, 1000 / rate);
      });
    },
    () => {},
  );
}

function metricLine(data, name, kind) {
  const m = data.metrics[name];
  if (!m) return null;
  const v = m.values;
  const value =
    kind === 'trend'
      ? `p50=${(v.med || 0).toFixed(1)}ms p90=${(v['p(90)'] || 0).toFixed(1)}ms p99=${(v['p(99)'] || 0).toFixed(1)}ms max=${(v.max || 0).toFixed(1)}ms`
      : kind === 'rate'
        ? `${((v.rate || 0) * 100).toFixed(2)}%`
        : `${v.count}`;
  const thresholds = m.thresholds ? Object.entries(m.thresholds).map(([t, r]) => `${r.ok ? 'ok' : 'FAIL'} ${t}`) : [];
  return `  ${name.padEnd(26)} ${value}${thresholds.length ? `  [${thresholds.join(', ')}]` : ''}`;
}

/** A compact text + JSON summary (no remote jslib imports: runs offline). */
export function summarize(data, title, names) {
  const lines = [`${title}`];
  const json = { title, metrics: {}, thresholds_ok: true };
  for (const [name, kind] of names) {
    const line = metricLine(data, name, kind);
    if (line) lines.push(line);
    const m = data.metrics[name];
    if (m) {
      json.metrics[name] = m.values;
      for (const r of Object.values(m.thresholds || {})) if (!r.ok) json.thresholds_ok = false;
    }
  }
  const out = { stdout: `${lines.join('\n')}\n${JSON.stringify(json)}\n` };
  if (config.summaryFile) out[config.summaryFile] = JSON.stringify(data, null, 2);
  return out;
}
