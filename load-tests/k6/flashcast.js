// Shared code of the Flashcast k6 scripts, for k6 v0.48 and current k6: configuration,
// tokens, frames (decodeMessage is the one place a WebSocket message becomes frames),
// connections, and the viewer, host and buyer behaviours of broadcast.js, chat-storm.js,
// flash-sale.js and peak-rehearsal.js. The Node harness (load-tests/harness/) runs the
// same scenarios with the same thresholds in CI.
//
// The codec is generated from protocol/flashcast.proto by `npm run proto` into
// ./lib/flashcast-proto.cjs: CommonJS, because k6 before v0.53 runs ES modules through
// Babel (the 470 KB codec took tens of seconds to load as ESM, well under one as CommonJS).
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate, Trend } from 'k6/metrics';
import { flashcast } from './lib/flashcast-proto.cjs';

/** The first of `names` this k6 has (init context only). */
function loadModule(names) {
  for (const name of names) {
    try {
      return require(name);
    } catch (_) {
      // not in this k6 version: try the next name
    }
  }
  throw new Error(`none of ${names.join(', ')} is available in this k6`);
}

// By feature, not version: k6 v0.48 has WebSocket and timers under k6/experimental/ only;
// timers are global from v0.51 (k6/experimental/timers is gone from v0.54); current k6 has
// k6/websockets.
const { WebSocket } = loadModule(['k6/websockets', 'k6/experimental/websockets']);
const timers =
  typeof setTimeout === 'function'
    ? { setTimeout, clearTimeout, setInterval, clearInterval }
    : loadModule(['k6/experimental/timers']);

/** WebSocket.OPEN (k6 v0.48's readyState is a Go-typed value: compare it through Number()). */
const OPEN = 1;

function num(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got ${raw}`);
  return n;
}

const url = (__ENV.FLASHCAST_URL || 'ws://127.0.0.1:8080').replace(/\/+$/, '');

/** Configuration from the environment (k6 run -e NAME=value); README.md lists every variable. */
export const config = {
  url,
  /** The HTTP API on the same host and port. */
  httpUrl: (__ENV.FLASHCAST_HTTP_URL || url.replace(/^ws/, 'http')).replace(/\/+$/, ''),
  secret: __ENV.FLASHCAST_JWT_SECRET || 'flashcast-dev-secret-change-me',
  room: __ENV.ROOM || 'k6-bench',
  /** Prefix of every user id: give each load generator its own (README: several generators). */
  idPrefix: __ENV.ID_PREFIX || 'k6',
  /** HOST=0: this generator runs no host (another one does, with the same ROOM and START_AT). */
  runHost: __ENV.HOST !== '0',
  /** When the host starts publishing (ms since the epoch); default: JOIN_WAIT after setup. */
  startAt: num('START_AT', 0),
  viewers: num('VIEWERS', 1000),
  rate: num('RATE', 20),
  durationS: num('DURATION', 30),
  /** Seconds given to viewers to connect and join before the host starts. */
  joinWaitS: num('JOIN_WAIT', 15),
  chatters: num('CHATTERS', 100),
  chatRate: num('CHAT_RATE', 2),
  flooderRate: num('FLOODER_RATE', 20),
  announceRate: num('ANNOUNCE_RATE', 2),
  buyers: num('BUYERS', 200),
  stock: num('STOCK', 50),
  /** Taps are spread over this many seconds after the deal goes live. */
  tapSpreadS: num('TAP_SPREAD', 2),
  /** How long a winner waits for its PAID order update on the socket. */
  paidWaitS: num('PAID_WAIT', 30),
  /** A critical message due this long before a viewer's end must have arrived. */
  lossGraceMs: num('LOSS_GRACE_MS', 2000),
  /** At its deadline without END, a viewer still catching up may take this long more (s). */
  drainS: num('DRAIN', 30),
  summaryFile: __ENV.SUMMARY_FILE || '',
};

/**
 * The service-level objectives (load-tests/slos.json): the same numbers as docs/slos.md,
 * deploy/prometheus/alerts.yml and the Node harness.
 */
export const slos = JSON.parse(open('../slos.json')).objectives;

/**
 * k6 thresholds of the SLOs `ids` (default: all), for a run with `n` = { connections, taps,
 * stock }: each rehearsal metric's bound is the SLO's threshold, times n[per], plus n[plus].
 */
export function sloThresholds(n, ids) {
  const out = {};
  for (const s of slos) {
    if (ids && !ids.includes(s.id)) continue;
    for (const r of s.rehearsal) {
      let bound = s.threshold * (r.per ? n[r.per] : 1) + (r.plus ? n[r.plus] : 0);
      if (r.stat === 'count') bound = Math.floor(bound);
      (out[r.metric] = out[r.metric] || []).push(`${r.stat}${r.op}${bound}`);
    }
  }
  return out;
}

/** Thresholds of several sources in one object (the lists of a metric are joined). */
export function mergeThresholds(...sources) {
  const out = {};
  for (const source of sources) {
    for (const [name, list] of Object.entries(source)) out[name] = (out[name] || []).concat(list);
  }
  return out;
}

/**
 * The correctness thresholds of each scenario: one definition for the script that runs it alone
 * and for the rehearsal that runs them together (the Node harness checks the same counts).
 */
export const scenarioThresholds = {
  /** Every client that joins the room, and nothing undecodable or failing a check. */
  room(joined) {
    return { fc_joined: [`count>=${joined}`], fc_join_failed: ['count==0'], fc_decode_errors: ['count==0'], checks: ['rate==1'] };
  },
  /** Broadcast viewers: each gets every announcement (END included); the host's are acknowledged. */
  broadcast(viewers, announcements) {
    return Object.assign(
      { fc_critical_received: [`count>=${viewers * announcements}`], fc_viewer_incomplete: ['count==0'] },
      config.runHost ? { fc_announce_acked: [`count>=${announcements}`], fc_announce_refused: ['count==0'] } : {},
    );
  },
  /** Chat storm: the chatters' lines all sent and accepted; the flooder limited. */
  chat(chatters, linesPerChatter) {
    return Object.assign(
      {},
      chatters > 0 ? { fc_chat_sent: [`count>=${chatters * linesPerChatter}`], fc_chat_accepted: ['rate>=0.99'] } : {},
      config.flooderRate > 0 ? { fc_flood_rate_limited: ['count>0'] } : {},
    );
  },
  /** Flash sale: every tap answered, exactly the units there are sold and paid, nothing else. */
  sale(buyers, stock) {
    const sellable = Math.min(stock, buyers);
    return {
      fc_buy_taps: [`count>=${buyers}`],
      fc_buy_answered: [`count>=${buyers}`],
      fc_buy_ok: [`count>=${sellable}`, `count<=${stock}`],
      fc_buy_other: ['count==0'],
      fc_orders_paid_pushed: [`count>=${sellable}`],
      fc_orders_paid: [`count>=${sellable}`, `count<=${stock}`],
      fc_units_sold: [`count>=${sellable}`],
    };
  },
};

/** Text of the host's last announcement: viewers stop when they see it. */
export const END_TEXT = 'END';

export const metrics = {
  joined: new Counter('fc_joined'),
  joinFailed: new Counter('fc_join_failed'),
  criticalReceived: new Counter('fc_critical_received'),
  criticalLost: new Counter('fc_critical_lost'),
  criticalDuplicates: new Counter('fc_critical_duplicates'),
  viewerIncomplete: new Counter('fc_viewer_incomplete'),
  unexpectedClose: new Counter('fc_unexpected_close'),
  disconnects: new Counter('fc_disconnects'),
  decodeErrors: new Counter('fc_decode_errors'),
  announcementMs: new Trend('fc_announcement_ms', true),
  announceAckMs: new Trend('fc_announce_ack_ms', true),
  /** How late the host sent each announcement against its schedule: a starved generator shows here first. */
  hostLagMs: new Trend('fc_host_lag_ms', true),
  announceAcked: new Counter('fc_announce_acked'),
  announceRefused: new Counter('fc_announce_refused'),
  chatSent: new Counter('fc_chat_sent'),
  chatAccepted: new Rate('fc_chat_accepted'),
  chatRateLimited: new Counter('fc_chat_rate_limited'),
  chatDeliveries: new Counter('fc_chat_deliveries'),
  chatDeliveryMs: new Trend('fc_chat_delivery_ms', true),
  floodLimited: new Counter('fc_flood_rate_limited'),
  buyTaps: new Counter('fc_buy_taps'),
  buyAnswered: new Counter('fc_buy_answered'),
  buyUnanswered: new Counter('fc_buy_unanswered'),
  buyMs: new Trend('fc_buy_ms', true),
  buyOk: new Counter('fc_buy_ok'),
  buySoldOut: new Counter('fc_buy_sold_out'),
  buyOther: new Counter('fc_buy_other'),
  buyUnavailable: new Counter('fc_buy_unavailable'),
  paidMs: new Trend('fc_paid_ms', true),
  ordersPaidPushed: new Counter('fc_orders_paid_pushed'),
  ordersFailedPushed: new Counter('fc_orders_failed_pushed'),
  ordersPaid: new Counter('fc_orders_paid'),
  unitsSold: new Counter('fc_units_sold'),
};

/**
 * Adds 0 to every counter a threshold reads, from setup(): a counter that never got a sample
 * must read 0 (and fail `count>=N`), on every k6 version.
 */
export function seedCounters(names) {
  const byName = {};
  for (const m of Object.values(metrics)) byName[m.name] = m;
  for (const name of names) {
    const base = name.split('{')[0];
    if (byName[base] && byName[base] instanceof Counter) byName[base].add(0);
  }
}

function b64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

/** Mints an HS256 JWT exactly as common/auth/TokenService does. */
export function mintToken(sub, role, rooms, extra) {
  const now = Math.floor(Date.now() / 1000);
  const claims = Object.assign({ role, sub, iss: 'flashcast', iat: now, exp: now + 3600 }, extra || {});
  if (rooms) claims.rooms = rooms;
  const unsigned = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${unsigned}.${crypto.hmac('sha256', config.secret, unsigned, 'base64rawurl')}`;
}

/**
 * Encodes a ClientFrame (camelCase fields: `roomState`, `clientMsgId`) into an ArrayBuffer
 * holding exactly its bytes: k6 sends a whole ArrayBuffer, and the encoder's bytes are a view
 * into a larger pool.
 */
export function encode(frame) {
  frame.v = 1;
  const bytes = flashcast.ClientFrame.encode(frame).finish();
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/**
 * Whether to ask the server to pack frames into batches (`batch=1`, as the SDK does): only when
 * this codec knows `ServerFrame.batch` (else a batch would decode as an empty frame); BATCH=0
 * turns it off.
 */
const askBatches = __ENV.BATCH !== '0' && typeof flashcast.Batch === 'function';

/**
 * The ServerFrames of one binary WebSocket message, in order: the frames of a batch (several
 * frames the server packed into one message), or the message itself. Every decode in these
 * scripts goes through here.
 */
export function decodeMessage(data) {
  const frame = flashcast.ServerFrame.decode(new Uint8Array(data));
  return frame.batch ? frame.batch.frames : [frame];
}

/** HTTP JSON call with a bearer token; returns the k6 response. */
export function api(method, path, token, body, tags) {
  const params = { headers: { authorization: `Bearer ${token}` }, timeout: '10s', tags: tags || { name: path.replace(/\/[A-Za-z0-9_.:-]{12,}/g, '/{id}') } };
  if (body !== undefined) params.headers['content-type'] = 'application/json';
  return http.request(method, `${config.httpUrl}${path}`, body === undefined ? null : JSON.stringify(body), params);
}

/**
 * Opens a Flashcast connection. `handlers.onOpen(client)` runs after the Connected frame,
 * `onFrame(frame, client)` for every frame that is not a reply, `onClose(info)` once:
 * `{ expected, connected, code, reason, unanswered }`, where code and reason come from the
 * server's `disconnect` frame (k6's close event carries neither), 0 / '' without one.
 * Every timer made with client.after / client.every stops when the socket closes.
 */
export function connect(token, handlers) {
  const ws = new WebSocket(`${config.url}/ws?token=${token}${askBatches ? '&batch=1' : ''}`);
  try {
    ws.binaryType = 'arraybuffer'; // needed from k6 v0.51 (no longer ArrayBuffer by default)
  } catch (_) {
    // k6 before v0.51: binary messages are always ArrayBuffers, and setting binaryType throws
  }
  const live = [];
  let nextRid = 1;
  let closedOnce = false;
  const client = {
    ws,
    connected: null,
    /** The server's last `disconnect` frame. */
    disconnect: null,
    closing: false,
    pending: {},
    get open() {
      return !client.closing && Number(ws.readyState) === OPEN;
    },
    /** Sends a frame without a reply (rid 0); false when the socket is not open. */
    send(frame) {
      if (!client.open) return false;
      frame.rid = 0;
      ws.send(encode(frame));
      return true;
    },
    /** Sends a request; `onReply(frame)` gets its reply. False when the socket is not open. */
    request(frame, onReply) {
      if (!client.open) return false;
      const rid = nextRid++;
      frame.rid = rid;
      client.pending[rid] = onReply;
      ws.send(encode(frame));
      return true;
    },
    /** Runs `fn` in `ms` (at once if ms <= 0), unless the socket closes first. */
    after(ms, fn) {
      const handle = { interval: false, id: 0 };
      handle.id = timers.setTimeout(() => {
        client.cancel(handle);
        fn();
      }, Math.max(0, ms));
      live.push(handle);
      return handle;
    },
    /** Runs `fn` every `ms` until cancelled or the socket closes. */
    every(ms, fn) {
      const handle = { interval: true, id: timers.setInterval(fn, ms) };
      live.push(handle);
      return handle;
    },
    cancel(handle) {
      const i = live.indexOf(handle);
      if (i < 0) return;
      live.splice(i, 1);
      if (handle.interval) timers.clearInterval(handle.id);
      else timers.clearTimeout(handle.id);
    },
    stopTimers() {
      while (live.length) client.cancel(live[live.length - 1]);
    },
    close() {
      if (client.closing) return;
      client.closing = true;
      client.stopTimers();
      if (Number(ws.readyState) === OPEN) ws.close();
    },
  };
  const dispatch = (frame) => {
    if (frame.connected) {
      client.connected = frame.connected;
      const interval = Number(frame.connected.pingIntervalMs || 0);
      if (interval > 0) client.every(Math.max(1000, interval / 2), () => client.send({ ping: { clientTime: Date.now() } }));
      if (handlers.onOpen) handlers.onOpen(client);
      return;
    }
    if (frame.disconnect) {
      client.disconnect = frame.disconnect;
      metrics.disconnects.add(1, { code: String(frame.disconnect.code) });
      return;
    }
    if (frame.rid > 0 && client.pending[frame.rid]) {
      const onReply = client.pending[frame.rid];
      delete client.pending[frame.rid];
      onReply(frame);
      return;
    }
    if (handlers.onFrame) handlers.onFrame(frame, client);
  };
  ws.onmessage = (event) => {
    let frames;
    try {
      frames = decodeMessage(event.data);
    } catch (_) {
      metrics.decodeErrors.add(1);
      return;
    }
    for (const frame of frames) dispatch(frame);
  };
  ws.onclose = () => {
    if (closedOnce) return;
    closedOnce = true;
    client.stopTimers();
    const unanswered = Object.keys(client.pending).length;
    client.pending = {};
    const d = client.disconnect;
    if (handlers.onClose) {
      handlers.onClose({ expected: client.closing, connected: !!client.connected, code: d ? d.code : 0, reason: d ? d.reason || '' : '', unanswered }, client);
    }
  };
  ws.onerror = () => {};
  return client;
}

/** Counts an unexpected close, tagged with the server's disconnect code (or `none`). */
function countUnexpectedClose(info) {
  metrics.unexpectedClose.add(1, { code: info.code ? String(info.code) : 'none' });
}

/**
 * The host's announcement schedule: `total` announcements at `rate`/s from `startAt`, then
 * END once all are answered. `dueBy(t)` = how many (END included) were due by `t` minus the
 * grace: what a viewer still connected at `t` must have received.
 */
export function schedule(startAt, rate, seconds) {
  const total = Math.round(rate * seconds);
  const intervalMs = rate > 0 ? 1000 / rate : 0;
  return {
    startAt,
    total,
    intervalMs,
    endDueAt: startAt + total * intervalMs,
    dueBy(t) {
      const s = t - config.lossGraceMs - startAt;
      if (s < 0) return 0;
      const announced = intervalMs > 0 ? Math.min(total, Math.floor(s / intervalMs) + 1) : 0;
      return announced + (s >= total * intervalMs ? 1 : 0);
    },
  };
}

/**
 * One viewer's critical stream: offsets must be consecutive from the one it joined at.
 * `lost(...)` measures what should have arrived by the viewer's end, with or without END:
 * up to END's offset when END came; else up to the room's offset read over HTTP (the viewer
 * is still connected); else (the server is gone) every announcement the schedule says was
 * due by the viewer's planned end, after the last one received.
 */
function criticalStream(base, joinedAt, plan) {
  return {
    base,
    last: base,
    received: 0,
    duplicates: 0,
    gapped: 0,
    lastSeq: -1,
    endOffset: 0,
    accept(offset, seq) {
      if (offset <= this.last) {
        this.duplicates++;
        return false;
      }
      if (offset > this.last + 1) this.gapped += offset - this.last - 1;
      this.received++;
      this.last = offset;
      if (seq > this.lastSeq) this.lastSeq = seq;
      return true;
    },
    lost(roomOffset, plannedEnd) {
      if (this.endOffset > 0) return Math.max(0, this.endOffset - this.base - this.received);
      if (roomOffset > 0) return Math.max(0, roomOffset - this.base - this.received);
      const expectedFrom = Math.max(this.lastSeq + 1, plan.dueBy(joinedAt));
      return this.gapped + Math.max(0, plan.dueBy(plannedEnd) - expectedFrom);
    },
  };
}

/** The room's current critical offset over HTTP, or 0 when the server does not answer. */
function roomOffset(token) {
  const res = api('GET', `/v1/rooms/${config.room}`, token, undefined, { name: '/v1/rooms/{room}' });
  if (res.status !== 200) return 0;
  try {
    return Number(JSON.parse(res.body).offset || 0);
  } catch (_) {
    return 0;
  }
}

/**
 * A viewer: joins the room, checks that critical events carry consecutive offsets, times
 * announcements (`<seq>|<ms>`) and chat, and stops at END or at `deadline` (ms since the
 * epoch). `plan` is the host's schedule(). With `chat` ({rate, seconds, startAt, flooder}) it
 * also chats; the flooder's stream is not checked (it may be disconnected for flooding).
 */
export function viewer(id, plan, deadline, chat) {
  const track = !(chat && chat.flooder);
  const token = mintToken(id, 'viewer');
  let stream = null;
  let done = false;
  let chatDone = !(chat && chat.rate > 0);
  let chats = 0;
  // Counts go to k6 once per viewer, at its end: a sample per frame costs the generator more
  // CPU than decoding the frame.
  // `offset`: the room's offset read at the end (0: END came, or the server did not answer).
  const finish = (client, offset) => {
    if (done) return;
    done = true;
    client.stopTimers();
    if (chats > 0) metrics.chatDeliveries.add(chats);
    if (stream && track) {
      metrics.criticalReceived.add(stream.received);
      if (stream.endOffset === 0) metrics.viewerIncomplete.add(1);
      metrics.criticalLost.add(stream.lost(offset, deadline));
      metrics.criticalDuplicates.add(stream.duplicates);
    }
    client.close();
  };
  // At the deadline without END: what the server has published is read over HTTP, and a viewer
  // still catching up (frames the server sent but a busy generator has not read yet) gets up
  // to DRAIN s, as long as it keeps moving, before what it lacks counts as lost.
  const drain = (client) => {
    if (done) return;
    if (!stream || !track) return finish(client, 0);
    const until = Date.now() + config.drainS * 1000;
    let seen = -1;
    const poll = () => {
      const offset = roomOffset(token);
      if (offset === 0 || stream.last >= offset || stream.last === seen || Date.now() >= until) return finish(client, offset);
      seen = stream.last;
      client.after(2000, poll);
    };
    poll();
  };
  connect(token, {
    onOpen(client) {
      client.after(deadline - Date.now(), () => drain(client));
      const joinedAt = Date.now();
      client.request({ join: { room: config.room } }, (reply) => {
        const ok = check(reply, { 'viewer joined': (r) => !!r.joined });
        if (!ok) {
          metrics.joinFailed.add(1, { code: (reply.error && reply.error.code) || 'UNKNOWN' });
          return finish(client, 0);
        }
        metrics.joined.add(1);
        stream = criticalStream(Number(reply.joined.offset || 0), joinedAt, plan);
        if (!chatDone) {
          startChat(client, id, chat, () => {
            chatDone = true;
            if (stream.endOffset > 0) finish(client, 0);
          });
        }
      });
    },
    onFrame(frame, client) {
      const event = frame.event;
      if (!event || done) return;
      const offset = Number(event.offset || 0);
      if (offset > 0 && stream) {
        const text = (event.announcement && event.announcement.text) || '';
        const parts = text.split('|');
        const seq = parts.length === 2 ? Number(parts[0]) : -1;
        stream.accept(offset, seq);
        const sentAt = Number(parts[1]);
        if (sentAt > 0) metrics.announcementMs.add(Date.now() - sentAt);
        if (text === END_TEXT) {
          stream.endOffset = offset;
          if (chatDone) finish(client, 0);
        }
      } else if (event.chat) {
        // Chat latency is timed on one frame in ten: a viewer gets up to 10 chat frames/s.
        if (chats++ % 10 !== 0) return;
        const sentAt = Number((event.chat.text || '').split('|')[1]);
        if (sentAt > 0) metrics.chatDeliveryMs.add(Date.now() - sentAt);
      }
    },
    onClose(info, client) {
      if (!info.connected) {
        metrics.joinFailed.add(1, { code: 'CONNECT' });
        return;
      }
      if (info.expected) return;
      if (chat && chat.flooder) {
        if (info.code === 4004) metrics.floodLimited.add(1);
        return;
      }
      countUnexpectedClose(info);
      finish(client, 0);
    },
  });
}

/** The least spacing of a legal chatter's lines (the server allows 3/s, burst 6). */
const CHAT_GAP_MS = 340;

/**
 * Chats `rate`/s for `seconds` from `startAt` (plus a random phase within one interval, so
 * chatters do not all send at once): text `<n>|<ms>`, a fresh clientMsgId each. `onDone()`
 * runs once every line was sent and answered (or the socket closed).
 */
function startChat(client, id, chat, onDone) {
  const total = Math.round(chat.rate * chat.seconds);
  const intervalMs = 1000 / chat.rate;
  let sent = 0;
  let answered = 0;
  const line = () => {
    const sentAt = Date.now();
    const n = sent++;
    const requested = client.request({ chat: { room: config.room, text: `${n}|${sentAt}`, clientMsgId: `${id}-${n}` } }, (r) => {
      answered++;
      const limited = !!r.error && (r.error.code === 'RATE_LIMITED' || r.error.code === 'SLOW_MODE');
      if (chat.flooder) {
        if (limited) metrics.floodLimited.add(1);
      } else {
        metrics.chatAccepted.add(!!r.chatAccepted);
        if (limited) metrics.chatRateLimited.add(1);
      }
      if (answered === total) onDone();
    });
    if (requested && !chat.flooder) metrics.chatSent.add(1);
    return requested;
  };
  const phase = chat.startAt + Math.random() * intervalMs;
  // Self-scheduled, not setInterval: a late chatter (a starved generator) catches up at most
  // at the server's chat rate (3/s), so legal chat stays legal.
  let lastAt = 0;
  const next = () => {
    if (sent >= total || !line()) return;
    lastAt = Date.now();
    client.after(Math.max(phase + sent * intervalMs, chat.flooder ? 0 : lastAt + CHAT_GAP_MS) - Date.now(), next);
  };
  client.after(phase - Date.now(), () => (total === 0 ? onDone() : next()));
}

/** The least spacing of a host's announcements (40/s: under the server's 50 frames/s). */
const CATCH_UP_GAP_MS = 25;

/**
 * The host: joins, announces on `plan` (text `<seq>|<ms>`, seq i at startAt + i/rate), then
 * END once every announcement is answered, and closes.
 */
/**
 * The scenarios of a chatting audience, for a script to export: `listener` (a viewer),
 * `chatter` (a viewer chatting CHAT_RATE lines/s for the run) and `flooder` (one viewer at
 * FLOODER_RATE, to be rate-limited). `planOf(data)` is the script's schedule of the host.
 */
export function audience(planOf) {
  return {
    listener(data) {
      const plan = planOf(data);
      viewer(`${config.idPrefix}l${exec.scenario.iterationInTest}`, plan, plan.endDueAt + 30000);
    },
    chatter(data) {
      const plan = planOf(data);
      viewer(`${config.idPrefix}c${exec.scenario.iterationInTest}`, plan, plan.endDueAt + 30000, {
        rate: config.chatRate,
        seconds: config.durationS,
        startAt: data.startAt,
      });
    },
    flooder(data) {
      const plan = planOf(data);
      viewer(`${config.idPrefix}-flooder`, plan, plan.endDueAt + 5000, { rate: config.flooderRate, seconds: config.durationS, startAt: data.startAt, flooder: true });
    },
  };
}

export function host(plan) {
  connect(mintToken(`${config.idPrefix}-host`, 'host', [config.room]), {
    onOpen(client) {
      client.request({ join: { room: config.room } }, (reply) => {
        if (!check(reply, { 'host joined': (r) => !!r.joined })) return client.close();
        let seq = 0;
        let answered = 0;
        const announce = (text) => {
          const sentAt = Date.now();
          client.request({ announce: { room: config.room, text } }, (r) => {
            answered++;
            if (check(r, { 'announcement acknowledged': (x) => !!x.ok })) {
              metrics.announceAcked.add(1);
              metrics.announceAckMs.add(Date.now() - sentAt);
            } else {
              metrics.announceRefused.add(1, { code: (r.error && r.error.code) || 'UNKNOWN' });
            }
            if (text === END_TEXT) client.close();
            else if (answered === plan.total) announce(END_TEXT);
          });
        };
        // A host that fell behind its schedule (a starved generator) catches up at most at
        // CATCH_UP_GAP_MS spacing: a burst would exceed the server's frame rate (50/s, burst 100).
        let sentAt = 0;
        const next = () => {
          if (!client.open) return;
          if (seq >= plan.total) return;
          sentAt = Date.now();
          metrics.hostLagMs.add(Math.max(0, sentAt - (plan.startAt + seq * plan.intervalMs)));
          announce(`${seq++}|${sentAt}`);
          client.after(Math.max(plan.startAt + seq * plan.intervalMs, sentAt + CATCH_UP_GAP_MS) - Date.now(), next);
        };
        if (plan.total === 0) client.after(plan.startAt - Date.now(), () => announce(END_TEXT));
        else client.after(plan.startAt - Date.now(), next);
      });
    },
    onClose(info) {
      if (info.unanswered > 0) metrics.announceRefused.add(info.unanswered, { code: 'UNANSWERED' });
      if (!info.expected) countUnexpectedClose(info);
    },
  });
}

/**
 * Sets up a flash sale over the HTTP API, as a shop's host would: a shop, a product with
 * STOCK units, the room's showcase, the pin, and a deal that goes live in `countdownS`
 * (at least 10 s), one unit per buyer. Returns what buyers need. Throws when a step fails.
 */
export function setupFlashSale(countdownS) {
  const token = mintToken(`${config.idPrefix}-host`, 'host', [config.room]);
  const must = (res, status, what) => {
    if (!check(res, { [`setup: ${what}`]: (r) => r.status === status })) {
      throw new Error(`flash-sale setup: ${what} answered ${res.status}: ${res.body}`);
    }
    return res.status === 204 ? null : JSON.parse(res.body);
  };
  const shop = must(api('POST', '/v1/shops', token, { name: 'k6 flash shop', currency: 'USD', country: 'US' }), 201, 'shop');
  const product = must(
    api('POST', `/v1/shops/${shop.id}/products`, token, {
      titles: { en: 'k6 flash item' },
      images: [],
      price: { amount: 2999, currency: 'USD' },
      stock: config.stock,
    }),
    201,
    'product',
  );
  must(api('POST', `/v1/rooms/${config.room}/showcase`, token, { productId: product.id }), 204, 'showcase');
  must(api('POST', `/v1/rooms/${config.room}/pin`, token, { productId: product.id }), 200, 'pin');
  const deal = must(
    api('POST', `/v1/rooms/${config.room}/deals`, token, {
      productId: product.id,
      price: { amount: 1999, currency: 'USD' },
      totalStock: config.stock,
      perBuyerLimit: 1,
      countdownSeconds: Math.max(10, Math.ceil(countdownS)),
      durationSeconds: 600,
    }),
    201,
    'deal',
  );
  return { dealId: deal.id, productId: product.id, startsAt: deal.startsAt, endsAt: deal.endsAt };
}

/** Tap answers that are a failure of the service, not an outcome of the sale (SLO tap_unavailable). */
const UNAVAILABLE_CODES = ['UNAVAILABLE', 'PAYMENT_UNAVAILABLE', 'SHIPPING_UNAVAILABLE', 'INTERNAL'];

/** Buyer `i`'s user id. */
export function buyerId(i) {
  return `${config.idPrefix}b${i}`;
}

/**
 * A buyer: saves a card (one-tap buying), joins, taps once at `tapAt` (server clock, ms)
 * for one unit, and, when it wins, waits for its order's PAID update on the socket.
 */
export function buyer(i, sale, tapAt) {
  const id = buyerId(i);
  const token = mintToken(id, 'viewer', undefined, { name: `Buyer ${i}`, region: 'US' });
  const saved = api('PUT', '/v1/me/payment-method', token, { type: 'card', token: 'tok_visa' });
  check(saved, { 'payment method saved': (r) => r.status === 204 });
  let orderId = '';
  let tappedAt = 0;
  let tapped = false;
  let answered = false;
  let done = false;
  const finish = (client) => {
    if (done) return;
    done = true;
    if (tapped && !answered) metrics.buyUnanswered.add(1);
    client.close();
  };
  connect(token, {
    onOpen(client) {
      const skew = Number(client.connected.serverTime || Date.now()) - Date.now();
      client.after(tapAt - skew - Date.now() + (config.paidWaitS + 20) * 1000, () => finish(client));
      client.request({ join: { room: config.room } }, (reply) => {
        if (!check(reply, { 'buyer joined': (r) => !!r.joined })) {
          metrics.joinFailed.add(1, { code: (reply.error && reply.error.code) || 'UNKNOWN' });
          return finish(client);
        }
        metrics.joined.add(1);
        client.after(tapAt - skew - Date.now(), () => {
          const sentAt = Date.now();
          tappedAt = sentAt;
          tapped = client.request(
            { buy: { room: config.room, productId: sale.productId, dealId: sale.dealId, quantity: 1, idempotencyKey: `${id}-tap` } },
            (r) => {
              answered = true;
              metrics.buyAnswered.add(1);
              metrics.buyMs.add(Date.now() - sentAt);
              const code = r.buyResult ? r.buyResult.code || 'OK' : (r.error && r.error.code) || 'UNKNOWN';
              if (code === 'OK') {
                metrics.buyOk.add(1);
                orderId = r.buyResult.orderId;
              } else if (code === 'SOLD_OUT') {
                metrics.buySoldOut.add(1);
                finish(client);
              } else {
                metrics.buyOther.add(1, { code });
                if (UNAVAILABLE_CODES.includes(code)) metrics.buyUnavailable.add(1, { code });
                finish(client);
              }
            },
          );
          if (tapped) metrics.buyTaps.add(1);
          else finish(client);
        });
      });
    },
    onFrame(frame, client) {
      const update = frame.orderUpdate;
      if (!update || !orderId || update.orderId !== orderId) return;
      if (update.status === flashcast.CheckoutStatus.CHECKOUT_PAID) {
        metrics.ordersPaidPushed.add(1);
        metrics.paidMs.add(Date.now() - tappedAt);
        finish(client);
      } else if (update.status === flashcast.CheckoutStatus.CHECKOUT_FAILED) {
        metrics.ordersFailedPushed.add(1, { code: update.code || 'UNKNOWN' });
        finish(client);
      }
    },
    onClose(info) {
      if (!info.connected) {
        metrics.joinFailed.add(1, { code: 'CONNECT' });
        return;
      }
      if (!info.expected) countUnexpectedClose(info);
      if (tapped && !answered && !done) metrics.buyUnanswered.add(1);
      done = true;
    },
  });
}

/**
 * The flash sale's outcome from the server's authority over HTTP: once the host dashboard's
 * paid units stop moving (settlement is asynchronous; at most AUDIT_WAIT s), every buyer's
 * orders on this deal from PostgreSQL (`GET /v1/me/orders`). Adds fc_orders_paid and
 * fc_units_sold, then ends the deal.
 */
export function auditFlashSale(sale, buyers) {
  const hostToken = mintToken(`${config.idPrefix}-host`, 'host', [config.room]);
  const deadline = Date.now() + num('AUDIT_WAIT', 60) * 1000;
  let last = -1;
  let stable = 0;
  while (Date.now() < deadline) {
    const res = api('GET', `/v1/rooms/${config.room}/dashboard`, hostToken, undefined, { name: '/v1/rooms/{room}/dashboard' });
    if (res.status !== 200) break;
    const product = (JSON.parse(res.body).products || []).find((p) => p.dealId === sale.dealId);
    const units = product ? Number(product.units) : 0;
    stable = units === last ? stable + 1 : 0;
    last = units;
    if (stable >= 2) break;
    sleep(1);
  }
  const result = paidOrders(sale.dealId, buyers);
  check(result, { 'orders readable over HTTP': (r) => r.reachable });
  metrics.ordersPaid.add(result.orders);
  metrics.unitsSold.add(result.units);
  api('POST', `/v1/deals/${sale.dealId}/end`, hostToken, undefined, { name: '/v1/deals/{deal}/end' });
  return result;
}

function paidOrders(dealId, buyers) {
  let orders = 0;
  let units = 0;
  const batch = 50;
  for (let from = 0; from < buyers; from += batch) {
    const requests = [];
    for (let i = from; i < Math.min(buyers, from + batch); i++) {
      const token = mintToken(buyerId(i), 'viewer');
      requests.push(['GET', `${config.httpUrl}/v1/me/orders?limit=20`, null, { headers: { authorization: `Bearer ${token}` }, timeout: '10s', tags: { name: '/v1/me/orders' } }]);
    }
    for (const res of http.batch(requests)) {
      if (res.status !== 200) return { orders, units, reachable: false };
      for (const o of JSON.parse(res.body).orders) {
        if (o.deal_id !== dealId || o.status !== 'paid') continue;
        orders++;
        for (const line of o.lines) units += line.quantity;
      }
    }
  }
  return { orders, units, reachable: true };
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
  return `  ${name.padEnd(34)} ${value}${thresholds.length ? `  [${thresholds.join(', ')}]` : ''}`;
}

/**
 * A compact text + JSON summary (no remote jslib imports: runs offline): the listed metrics,
 * then every other metric that has a threshold, then the JSON line.
 */
export function summarize(data, title, names) {
  const lines = [`${title}`];
  const json = { title, metrics: {}, thresholds_ok: true };
  const listed = names.map((n) => n[0]);
  const withThresholds = Object.keys(data.metrics).filter((n) => data.metrics[n].thresholds && !listed.includes(n));
  const all = names.concat(withThresholds.sort().map((n) => [n, data.metrics[n].type === 'trend' ? 'trend' : data.metrics[n].type === 'rate' ? 'rate' : 'counter']));
  for (const [name, kind] of all) {
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
