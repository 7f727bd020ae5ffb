import { hostname } from 'node:os';
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { RedisConnections } from './RedisConnections.js';
import { ClientAddress } from './http/ClientAddress.js';

/**
 * The public development secret. Anyone who reads this file can mint any token
 * (ops included) for a server that uses it, so every process refuses it unless
 * FLASHCAST_DEV=1 says this is a development machine.
 */
export const DEV_SECRET = 'flashcast-dev-secret-change-me';

/** An unset environment variable: an empty string counts as unset (`FOO=` in a compose file). */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).max(max).default(def));

const optional = <T extends z.ZodTypeAny>(type: T) => z.preprocess(unsetIfEmpty, type.optional());

/** An optional integer in a range: unset leaves the part's own default (e.g. SfuConfig's). */
const optionalInt = (min: number, max = Number.MAX_SAFE_INTEGER) => optional(z.coerce.number().int().min(min).max(max));

/** An optional fraction from 0 to 1 (a sandbox failure rate). */
const fraction = optional(z.coerce.number().min(0).max(1));

/** A token bucket as "rate/burst": `rate` tokens a second, at most `burst` saved (e.g. "3/6"). */
const rate = (def: string) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .default(def)
      .transform((v, ctx) => {
        const m = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(v);
        if (!m || !(Number(m[1]) > 0) || !(Number(m[2]) >= 1)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be "rate/burst" (per second / most saved), e.g. "3/6"' });
          return z.NEVER;
        }
        return { perSecond: Number(m[1]), burst: Number(m[2]) };
      }),
  );

/** A check that throws a TypeError with the reason (the Redis URL and node-list parsers). */
const parses = (parse: (v: string) => unknown) => (v: string, ctx: z.RefinementCtx) => {
  try {
    parse(v);
  } catch (error) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
  }
};

const flag = z.preprocess(unsetIfEmpty, z.enum(['0', '1'], { message: 'must be 1 or 0' }).optional());

/**
 * Browser origins as a comma-separated list, each exactly as a browser sends it in `Origin`
 * (`https://shop.example`, `http://localhost:5173`), or `*` alone for any origin.
 */
const origins = optional(
  z.string().transform((v, ctx) => {
    const list = v.split(',').map((o) => o.trim()).filter((o) => o.length > 0);
    if (list.includes('*')) {
      if (list.length > 1) ctx.addIssue({ code: z.ZodIssueCode.custom, message: '"*" (any origin) stands alone' });
      return ['*'];
    }
    for (const o of list) {
      let origin = '';
      try {
        const url = new URL(o);
        if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
      } catch {
        /* reported below */
      }
      if (origin !== o) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${o}" is not an origin: write it as a browser sends it, scheme://host[:port] in lower case, no path (e.g. https://shop.example)` });
    }
    return list;
  }),
);

/** FLASHCAST_TRUSTED_PROXIES: comma-separated addresses and IPv4 networks (ClientAddress). */
const proxies = optional(
  z.string().transform((v, ctx) => {
    const list = v.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
    for (const p of list) {
      if (!ClientAddress.valid(p)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${p}" is not an IP address or an IPv4 network (a.b.c.d/n)` });
    }
    return list;
  }),
);

const schema = z.object({
  HOST: z.string().default('0.0.0.0'),
  PORT: int(8080, 0, 65535),
  /** One server (redis://, rediss://) or a cluster (redis+cluster://h1:p1,h2:p2, rediss+cluster://...). */
  REDIS_URL: optional(z.string().superRefine(parses(RedisConnections.parse))),
  /** A Redis Cluster's seed nodes, host:port,host:port (instead of a cluster REDIS_URL). */
  REDIS_CLUSTER_NODES: optional(z.string().superRefine(parses(RedisConnections.parseNodes))),
  DATABASE_URL: optional(z.string()),
  /** PostgreSQL schema to use (created if missing); lets tests and tenants share a database. */
  DATABASE_SCHEMA: optional(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/)),
  FLASHCAST_DATA_DIR: z.string().default('./data'),
  FLASHCAST_JWT_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  /** "1": a development machine; the public development secret is allowed. */
  FLASHCAST_DEV: flag,
  FLASHCAST_NODE_ID: optional(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/)),
  /** Key prefix for every Redis key and channel (lets tests and tenants share a Redis). */
  FLASHCAST_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{0,32}$/).default('fc'),
  FLASHCAST_MAX_FRAME_BYTES: int(16 * 1024, 256, 1024 * 1024),
  FLASHCAST_HISTORY_SIZE: int(2_000, 10, 100_000),
  FLASHCAST_HISTORY_TTL_S: int(24 * 3600, 60),
  FLASHCAST_MAX_BACKPRESSURE: int(1024 * 1024, 16 * 1024),
  FLASHCAST_BATCH_WINDOW_MS: int(10, 0, 20),
  FLASHCAST_LAGGING_BYTES: int(256 * 1024, 1024),
  FLASHCAST_IDLE_TIMEOUT_S: int(60, 8, 960),
  FLASHCAST_CHAT_PER_VIEWER_PER_S: int(10, 1, 1000),
  FLASHCAST_LITE_CHAT_PER_S: int(2, 0, 100),
  FLASHCAST_MAX_ROOMS_PER_CONN: int(8, 1, 100),
  FLASHCAST_MAX_CONNS_PER_USER: int(10, 1, 10_000),
  FLASHCAST_DRAIN_MS: int(2_000, 0, 120_000),
  /** Realtime limits (README "Configuration"): per-socket token buckets as "rate/burst". */
  FLASHCAST_FRAME_RATE: rate('50/100'),
  FLASHCAST_CHAT_RATE: rate('3/6'),
  FLASHCAST_STAFF_CHAT_RATE: rate('20/40'),
  FLASHCAST_REACT_RATE: rate('20/40'),
  FLASHCAST_JOIN_RATE: rate('5/10'),
  FLASHCAST_ROOM_CHAT_INGRESS_PER_S: int(200, 1, 1_000_000),
  FLASHCAST_ROOM_CHAT_PER_S: int(200, 1, 1_000_000),
  /** Hash slots presence and reaction totals are spread over (docs/scaling.md): on Redis Cluster, its number of masters. */
  FLASHCAST_STATS_PARTITIONS: int(1, 1, 1024),
  FLASHCAST_BAD_FRAMES_BEFORE_CLOSE: int(5, 0, 10_000),
  FLASHCAST_FLOOD_VIOLATIONS: int(50, 1, 1_000_000),
  FLASHCAST_FLOOD_WINDOW_MS: int(10_000, 100, 3_600_000),
  FLASHCAST_SWEEP_MS: int(200, 10, 60_000),
  FLASHCAST_MAX_BODY_BYTES: int(64 * 1024, 1024, 64 * 1024 * 1024),
  /** Origins whose pages may call the API (CORS) and open /ws (docs/security.md); unset: none but the gateway's own. */
  FLASHCAST_CORS_ORIGINS: origins,
  /** Load balancers whose X-Forwarded-For names the client (docs/deploy.md); unset: none, the peer is the client. */
  FLASHCAST_TRUSTED_PROXIES: proxies,
  /** HTTPS and WSS on the gateway's port: PEM certificate (chain) and private key files, both or neither. */
  FLASHCAST_TLS_CERT: optional(z.string()),
  FLASHCAST_TLS_KEY: optional(z.string()),
  /** `flashcast start`: "off" runs without live video; on (default), a missing media worker is fetched or built. */
  FLASHCAST_VIDEO: z.preprocess(unsetIfEmpty, z.enum(['on', 'off'], { message: 'must be on or off' }).default('on')),
  /** `flashcast gateway`: "0" turns the commerce API off even with a database. */
  FLASHCAST_COMMERCE: flag,
  /** `flashcast gateway`: where live video runs. */
  FLASHCAST_SFU: z.preprocess(unsetIfEmpty, z.enum(['off', 'in-process', 'remote']).default('off')),
  /** `flashcast sfu`: this media node's name, its HTTP (WHIP, /metrics) address, its pipe IP. */
  FLASHCAST_SFU_NODE_ID: optional(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/)),
  FLASHCAST_SFU_HTTP_HOST: z.preprocess(unsetIfEmpty, z.string().default('127.0.0.1')),
  FLASHCAST_SFU_HTTP_PORT: int(8090, 0, 65535),
  FLASHCAST_SFU_PIPE_IP: optional(z.string()),
  /** The media plane of `flashcast sfu` and of an in-process SFU (docs/media.md); unset: SfuConfig's defaults. */
  FLASHCAST_SFU_WORKERS: optionalInt(1, 1024),
  FLASHCAST_SFU_LISTEN_IP: optional(z.string()),
  FLASHCAST_SFU_ANNOUNCED_ADDRESS: optional(z.string()),
  FLASHCAST_SFU_RTC_MIN_PORT: optionalInt(1, 65535),
  FLASHCAST_SFU_RTC_MAX_PORT: optionalInt(1, 65535),
  FLASHCAST_SFU_CONSUMERS_PER_ROUTER: optionalInt(1),
  FLASHCAST_SFU_KEYFRAME_DELAY_MS: optionalInt(0),
  FLASHCAST_SFU_WHIP_MAX_PER_ROOM: optionalInt(1),
  FLASHCAST_SFU_WHIP_MAX_INGESTS: optionalInt(1),
  FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS: optionalInt(1),
  FLASHCAST_SFU_ROOM_IDLE_TIMEOUT_MS: optionalInt(1),
  /** Settlement workers (docs/settlement.md). */
  SETTLEMENT_CONCURRENCY: int(256, 1, 10_000),
  SETTLEMENT_DB_POOL: int(16, 1, 1_000),
  SETTLEMENT_LOCK_MS: int(30_000, 100),
  SETTLEMENT_STALLED_MS: int(30_000, 100),
  SETTLEMENT_RETURN_WINDOW_MS: int(14 * 86_400_000, 0),
  /** The sandbox payment provider's knobs (docs/settlement.md); unset: its defaults (all off). */
  SANDBOX_OUTAGE: flag,
  SANDBOX_OUTAGE_RATE: fraction,
  SANDBOX_TIMEOUT_RATE: fraction,
  SANDBOX_DECLINE_RATE: fraction,
  SANDBOX_LATENCY_MS: optionalInt(0),
  SANDBOX_ANSWER_DELAY_MS: optionalInt(0),
  SANDBOX_BNPL_LIMIT: optionalInt(0),
  /** Merchant webhook delivery (docs/webhooks.md), in settlement worker processes. */
  FLASHCAST_WEBHOOK_ATTEMPTS: int(12, 1, 50),
  FLASHCAST_WEBHOOK_BACKOFF_MS: int(10_000, 10, 3_600_000),
  FLASHCAST_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 120_000),
  FLASHCAST_WEBHOOK_CONCURRENCY: int(16, 1, 1_000),
  /** "1": endpoints may be on loopback and private networks (development, tests); never where merchants are untrusted. */
  FLASHCAST_WEBHOOK_ALLOW_PRIVATE: flag,
  /**
   * The base URL the public reaches this server at (e.g. https://live.example.com): links the
   * server hands out (hosted payment pages) start with it. Unset: they are paths on the API's origin.
   */
  FLASHCAST_PUBLIC_URL: optional(z.string().url().regex(/^https?:\/\/[^?#]*[^/?#]$/, 'must be an http(s) URL without a trailing slash, query or fragment')),
  /**
   * Asynchronous payments (docs/payments.md). Each provider signs its notifications with its own
   * secret (HMAC-SHA256): the sandbox's is PAYMENT_SANDBOX_SECRET, derived from
   * FLASHCAST_JWT_SECRET when unset (the same on every process that shares that secret).
   */
  PAYMENT_SANDBOX_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  /** How old (or how far ahead) a notification's timestamp may be, in seconds. */
  PAYMENT_NOTIFICATION_TOLERANCE_S: int(300, 1, 86_400),
  /** A payment step (hosted page, BNPL approval) holds the units this long after the confirmation, and again after each "pending" notification... */
  PAYMENT_STEP_HOLD_MS: int(10 * 60_000, 100, 24 * 3_600_000),
  /** ...but never longer than this after the confirmation; then the units are released (PAYMENT_EXPIRED). */
  PAYMENT_STEP_MAX_HOLD_MS: int(30 * 60_000, 100, 7 * 24 * 3_600_000),
  /**
   * Tokens for the browser pages (server/http/WebApi.ts, docs/security.md). The shop's own endpoint
   * that answers `{token}` for its signed-in user (an http(s) URL, or a path on the page's origin);
   * the pages call it with credentials. Unset: none (dev tokens or guests only).
   */
  FLASHCAST_TOKEN_ENDPOINT: optional(z.string().max(2048).regex(/^(https?:\/\/[^\s]+|\/[^\s]*)$/, 'must be an http(s) URL or a path starting with /')),
  /** "0": no guest tokens (viewers must sign in to watch). */
  FLASHCAST_GUEST_VIEWERS: flag,
  FLASHCAST_GUEST_TTL_S: int(2 * 3600, 60, 86_400),
  FLASHCAST_STREAM_KEY_TTL_S: int(7 * 86_400, 60, 365 * 86_400),
  /** Guest and development tokens minted per client address, as "rate/burst". */
  FLASHCAST_TOKEN_RATE: rate('5/50'),
});

/**
 * The media plane settings (FLASHCAST_SFU_*), named as SfuConfig's fields; unset ones are left
 * out and take SfuConfig's defaults (sfu/SfuConfig.ts `sfuConfigFrom`).
 */
export interface SfuMediaSettings {
  workers?: number;
  listenIp?: string;
  announcedAddress?: string;
  rtcMinPort?: number;
  rtcMaxPort?: number;
  consumersPerRouter?: number;
  keyFrameRequestDelayMs?: number;
  whipMaxIngestsPerRoom?: number;
  whipMaxIngests?: number;
  whipConnectTimeoutMs?: number;
  roomIdleTimeoutMs?: number;
}

/** The sandbox payment provider's knobs (SANDBOX_*), named as its options; unset ones are left out. */
export interface SandboxSettings {
  outage?: boolean;
  outageRate?: number;
  timeoutRate?: number;
  declineRate?: number;
  latencyMs?: number;
  answerDelayMs?: number;
  bnplLimit?: number;
}

/** Merchant webhook delivery settings (FLASHCAST_WEBHOOK_*), named as WebhookService's options. */
export interface WebhookSettings {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  concurrency: number;
  allowPrivate: boolean;
}

/** Tokens for the browser pages (FLASHCAST_TOKEN_ENDPOINT, FLASHCAST_GUEST_*, FLASHCAST_STREAM_KEY_TTL_S, FLASHCAST_TOKEN_RATE). */
export interface WebTokenSettings {
  /** The shop's endpoint answering `{token}` for its signed-in user; null: none. */
  tokenEndpoint: string | null;
  /** Guest tokens are minted (`POST /v1/guest-tokens`). */
  guests: boolean;
  guestTtlSeconds: number;
  /** Lifetime of a stream key (`POST /v1/rooms/{room}/stream-keys`). */
  streamKeyTtlSeconds: number;
  /** Guest and development tokens per client address. */
  tokenRate: TokenRate;
}

/** Asynchronous payment settings (PAYMENT_*): see docs/payments.md. */
export interface PaymentSettings {
  /** The sandbox provider's notification signing secret. */
  sandboxSecret: string;
  /** Accepted age (either way) of a notification's timestamp, ms. */
  notificationToleranceMs: number;
  /** How long a payment step holds the units after the confirmation or a "pending" notification, ms. */
  stepHoldMs: number;
  /** The longest a payment step holds the units after the confirmation, ms. */
  maxStepHoldMs: number;
}

/** A provider's notification secret derived from the JWT secret (used when none is configured). */
export function derivedPaymentSecret(jwtSecret: string, provider: string): string {
  return createHmac('sha256', jwtSecret).update(`flashcast/payment-notifications/${provider}`).digest('base64url');
}

/** The object without its undefined fields (so that spreading it over defaults keeps them). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A token bucket's settings: `perSecond` tokens a second, at most `burst` saved. */
export interface TokenRate {
  perSecond: number;
  burst: number;
}

/** Validated runtime configuration (from the environment). See README "Configuration". */
export interface Config {
  host: string;
  port: number;
  /**
   * Where Redis is: one server (redis://, rediss://) or a Redis Cluster (redis+cluster://, from
   * REDIS_URL or REDIS_CLUSTER_NODES); undefined: `flashcast start`/`gateway` run a private one.
   * Every process opens it through common/RedisConnections.ts.
   */
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  databaseSchema: string | undefined;
  dataDir: string;
  jwtSecret: string;
  /** FLASHCAST_DEV=1: a development machine. */
  devMode: boolean;
  /** The public development secret signs tokens (only ever in dev mode). */
  usingDevSecret: boolean;
  nodeId: string;
  redisPrefix: string;
  maxFrameBytes: number;
  historySize: number;
  historyTtlSeconds: number;
  maxBackpressure: number;
  /** How long a frame to a room may wait to be packed with others into one message (0: never). */
  batchWindowMs: number;
  laggingBytes: number;
  idleTimeoutSeconds: number;
  chatPerViewerPerSecond: number;
  liteChatPerSecond: number;
  maxRoomsPerConnection: number;
  /** Sockets one user may hold on one gateway node; the next is refused (4505). */
  maxConnectionsPerUser: number;
  drainMs: number;
  /** Client frames per socket (any kind); over it: RATE_LIMITED, and sustained, close 4004. */
  frameRate: TokenRate;
  /** Chat lines per viewer socket. */
  chatRate: TokenRate;
  /** Chat lines per socket of a host, moderator or ops. */
  staffChatRate: TokenRate;
  /** Reaction frames per socket. */
  reactRate: TokenRate;
  /** Joins per socket. */
  joinRate: TokenRate;
  /** Viewer chat one node admits per room per second (the rest is acknowledged to its sender only). */
  roomChatIngressPerSecond: number;
  roomChatPerSecond: number;
  /** Stats partitions (presence and reaction totals); the same on every gateway. */
  statsPartitions: number;
  /** Undecodable frames a socket may send; the next closes it (4503). */
  badFramesBeforeClose: number;
  /** Frame rate-limit violations within `floodWindowMs` that close a socket (4004). */
  floodViolations: number;
  floodWindowMs: number;
  /** How often the slow-consumer policy looks at send buffers. */
  sweepMs: number;
  /** Largest HTTP request body. */
  maxBodyBytes: number;
  /** Browser origins allowed to call the API and open sockets; `['*']` any; empty: none (no CORS headers). */
  corsOrigins: readonly string[];
  trustedProxies: readonly string[];
  /** TLS for the gateway's port (HTTPS, WSS); undefined: plain HTTP and WS. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** `flashcast start` runs live video (FLASHCAST_VIDEO, on unless "off"). */
  video: boolean;
  /** `flashcast gateway` serves the commerce API (when a database is configured). */
  commerce: boolean;
  /** `flashcast gateway`: live video here, on remote SFU processes, or none. */
  sfu: 'in-process' | 'remote' | false;
  sfuNodeId: string;
  sfuHttpHost: string;
  sfuHttpPort: number;
  sfuPipeIp: string | undefined;
  /** The media plane (workers, IPs, RTC ports, limits) of `flashcast sfu` and the in-process SFU. */
  sfuMedia: SfuMediaSettings;
  settlementConcurrency: number;
  settlementDbPool: number;
  settlementLockMs: number;
  settlementStalledMs: number;
  settlementReturnWindowMs: number;
  /** The sandbox payment provider's knobs (gateway with in-process settlement, and workers). */
  sandbox: SandboxSettings;
  /** Merchant webhooks: delivery (worker processes) and which endpoint URLs are accepted (gateways). */
  webhooks: WebhookSettings;
  /** Where the public reaches this server (no trailing slash); undefined: links are paths. */
  publicUrl: string | undefined;
  /** Asynchronous payment steps and provider notifications. */
  payments: PaymentSettings;
  /** Tokens for the browser pages: the shop's endpoint, guests, stream keys, mint rate. */
  web: WebTokenSettings;
}

/** A configuration no process may run with; the message says what to set. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';

  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const SECRET_HELP =
  'Set FLASHCAST_JWT_SECRET to a random string of at least 16 characters, the same on every gateway, worker and sfu\n' +
  'process (e.g. export FLASHCAST_JWT_SECRET="$(openssl rand -base64 32)"). On a development machine nobody else\n' +
  'can reach, FLASHCAST_DEV=1 allows the public development secret instead.';

/**
 * Parses the environment; throws a ConfigError naming each bad variable. Without
 * FLASHCAST_JWT_SECRET (or with the public development secret) it throws unless
 * FLASHCAST_DEV=1.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.REDIS_URL !== undefined && e.REDIS_CLUSTER_NODES !== undefined) {
    throw new ConfigError('invalid configuration:\n  REDIS_CLUSTER_NODES: set REDIS_URL or REDIS_CLUSTER_NODES, not both (credentials go in a redis+cluster://user:password@host:port,... REDIS_URL)');
  }
  const devMode = e.FLASHCAST_DEV === '1';
  const secret = e.FLASHCAST_JWT_SECRET ?? (devMode ? DEV_SECRET : undefined);
  if (secret === undefined) throw new ConfigError(`FLASHCAST_JWT_SECRET is not set.\n${SECRET_HELP}`);
  if (secret === DEV_SECRET && !devMode) {
    throw new ConfigError(`FLASHCAST_JWT_SECRET is the public development secret: anyone can mint tokens with it.\n${SECRET_HELP}`);
  }
  if ((e.FLASHCAST_TLS_CERT === undefined) !== (e.FLASHCAST_TLS_KEY === undefined)) {
    throw new ConfigError('FLASHCAST_TLS_CERT and FLASHCAST_TLS_KEY go together: set both (PEM certificate and key files) or neither');
  }
  const pid = `${hostname().slice(0, 40)}-${process.pid}`;
  return {
    host: e.HOST,
    port: e.PORT,
    redisUrl: e.REDIS_CLUSTER_NODES !== undefined ? RedisConnections.clusterUrl(e.REDIS_CLUSTER_NODES) : e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    dataDir: e.FLASHCAST_DATA_DIR,
    jwtSecret: secret,
    devMode,
    usingDevSecret: secret === DEV_SECRET,
    nodeId: e.FLASHCAST_NODE_ID ?? `${pid}-${randomBytes(3).toString('hex')}`,
    redisPrefix: e.FLASHCAST_REDIS_PREFIX,
    maxFrameBytes: e.FLASHCAST_MAX_FRAME_BYTES,
    historySize: e.FLASHCAST_HISTORY_SIZE,
    historyTtlSeconds: e.FLASHCAST_HISTORY_TTL_S,
    maxBackpressure: e.FLASHCAST_MAX_BACKPRESSURE,
    batchWindowMs: e.FLASHCAST_BATCH_WINDOW_MS,
    laggingBytes: e.FLASHCAST_LAGGING_BYTES,
    idleTimeoutSeconds: e.FLASHCAST_IDLE_TIMEOUT_S,
    chatPerViewerPerSecond: e.FLASHCAST_CHAT_PER_VIEWER_PER_S,
    liteChatPerSecond: e.FLASHCAST_LITE_CHAT_PER_S,
    maxRoomsPerConnection: e.FLASHCAST_MAX_ROOMS_PER_CONN,
    maxConnectionsPerUser: e.FLASHCAST_MAX_CONNS_PER_USER,
    drainMs: e.FLASHCAST_DRAIN_MS,
    frameRate: e.FLASHCAST_FRAME_RATE,
    chatRate: e.FLASHCAST_CHAT_RATE,
    staffChatRate: e.FLASHCAST_STAFF_CHAT_RATE,
    reactRate: e.FLASHCAST_REACT_RATE,
    joinRate: e.FLASHCAST_JOIN_RATE,
    roomChatIngressPerSecond: e.FLASHCAST_ROOM_CHAT_INGRESS_PER_S,
    roomChatPerSecond: e.FLASHCAST_ROOM_CHAT_PER_S,
    statsPartitions: e.FLASHCAST_STATS_PARTITIONS,
    badFramesBeforeClose: e.FLASHCAST_BAD_FRAMES_BEFORE_CLOSE,
    floodViolations: e.FLASHCAST_FLOOD_VIOLATIONS,
    floodWindowMs: e.FLASHCAST_FLOOD_WINDOW_MS,
    sweepMs: e.FLASHCAST_SWEEP_MS,
    maxBodyBytes: e.FLASHCAST_MAX_BODY_BYTES,
    corsOrigins: e.FLASHCAST_CORS_ORIGINS ?? [],
    trustedProxies: e.FLASHCAST_TRUSTED_PROXIES ?? [],
    tls: e.FLASHCAST_TLS_CERT !== undefined && e.FLASHCAST_TLS_KEY !== undefined ? { certFile: e.FLASHCAST_TLS_CERT, keyFile: e.FLASHCAST_TLS_KEY } : undefined,
    video: e.FLASHCAST_VIDEO === 'on',
    commerce: e.FLASHCAST_COMMERCE !== '0',
    sfu: e.FLASHCAST_SFU === 'off' ? false : e.FLASHCAST_SFU,
    sfuNodeId: e.FLASHCAST_SFU_NODE_ID ?? `sfu-${pid}`,
    sfuHttpHost: e.FLASHCAST_SFU_HTTP_HOST,
    sfuHttpPort: e.FLASHCAST_SFU_HTTP_PORT,
    sfuPipeIp: e.FLASHCAST_SFU_PIPE_IP,
    sfuMedia: defined({
      workers: e.FLASHCAST_SFU_WORKERS,
      listenIp: e.FLASHCAST_SFU_LISTEN_IP,
      announcedAddress: e.FLASHCAST_SFU_ANNOUNCED_ADDRESS,
      rtcMinPort: e.FLASHCAST_SFU_RTC_MIN_PORT,
      rtcMaxPort: e.FLASHCAST_SFU_RTC_MAX_PORT,
      consumersPerRouter: e.FLASHCAST_SFU_CONSUMERS_PER_ROUTER,
      keyFrameRequestDelayMs: e.FLASHCAST_SFU_KEYFRAME_DELAY_MS,
      whipMaxIngestsPerRoom: e.FLASHCAST_SFU_WHIP_MAX_PER_ROOM,
      whipMaxIngests: e.FLASHCAST_SFU_WHIP_MAX_INGESTS,
      whipConnectTimeoutMs: e.FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS,
      roomIdleTimeoutMs: e.FLASHCAST_SFU_ROOM_IDLE_TIMEOUT_MS,
    }),
    settlementConcurrency: e.SETTLEMENT_CONCURRENCY,
    settlementDbPool: e.SETTLEMENT_DB_POOL,
    settlementLockMs: e.SETTLEMENT_LOCK_MS,
    settlementStalledMs: e.SETTLEMENT_STALLED_MS,
    settlementReturnWindowMs: e.SETTLEMENT_RETURN_WINDOW_MS,
    sandbox: defined({
      outage: e.SANDBOX_OUTAGE === undefined ? undefined : e.SANDBOX_OUTAGE === '1',
      outageRate: e.SANDBOX_OUTAGE_RATE,
      timeoutRate: e.SANDBOX_TIMEOUT_RATE,
      declineRate: e.SANDBOX_DECLINE_RATE,
      latencyMs: e.SANDBOX_LATENCY_MS,
      answerDelayMs: e.SANDBOX_ANSWER_DELAY_MS,
      bnplLimit: e.SANDBOX_BNPL_LIMIT,
    }),
    webhooks: {
      attempts: e.FLASHCAST_WEBHOOK_ATTEMPTS,
      backoffMs: e.FLASHCAST_WEBHOOK_BACKOFF_MS,
      timeoutMs: e.FLASHCAST_WEBHOOK_TIMEOUT_MS,
      concurrency: e.FLASHCAST_WEBHOOK_CONCURRENCY,
      allowPrivate: e.FLASHCAST_WEBHOOK_ALLOW_PRIVATE === '1',
    },
    publicUrl: e.FLASHCAST_PUBLIC_URL,
    payments: {
      sandboxSecret: e.PAYMENT_SANDBOX_SECRET ?? derivedPaymentSecret(secret, 'sandbox'),
      notificationToleranceMs: e.PAYMENT_NOTIFICATION_TOLERANCE_S * 1000,
      stepHoldMs: Math.min(e.PAYMENT_STEP_HOLD_MS, e.PAYMENT_STEP_MAX_HOLD_MS),
      maxStepHoldMs: e.PAYMENT_STEP_MAX_HOLD_MS,
    },
    web: {
      tokenEndpoint: e.FLASHCAST_TOKEN_ENDPOINT ?? null,
      guests: e.FLASHCAST_GUEST_VIEWERS !== '0',
      guestTtlSeconds: e.FLASHCAST_GUEST_TTL_S,
      streamKeyTtlSeconds: e.FLASHCAST_STREAM_KEY_TTL_S,
      tokenRate: e.FLASHCAST_TOKEN_RATE,
    },
    ...overrides,
  };
}

/** The warning every process prints when it runs on the development secret. */
export function devSecretBanner(): string {
  const bar = '!'.repeat(78);
  return [
    '',
    bar,
    '!!  DEVELOPMENT MODE: tokens are signed with the PUBLIC development secret.',
    '!!  Anyone can mint any token for this server, ops tokens included.',
    '!!  Never expose it to a network you do not control.',
    '!!  For anything else: export FLASHCAST_JWT_SECRET="$(openssl rand -base64 32)"',
    bar,
    '',
    '',
  ].join('\n');
}
