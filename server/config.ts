import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const DEV_SECRET = 'flashcast-dev-secret-change-me';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const schema = z.object({
  HOST: z.string().default('0.0.0.0'),
  PORT: int(8080, 0, 65535),
  REDIS_URL: z.string().url().optional(),
  DATABASE_URL: z.string().optional(),
  /** PostgreSQL schema to use (created if missing); lets tests and tenants share a database. */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
  FLASHCAST_DATA_DIR: z.string().default('./data'),
  FLASHCAST_JWT_SECRET: z.string().min(16).default(DEV_SECRET),
  FLASHCAST_NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  /** Key prefix for every Redis key and channel (lets tests and tenants share a Redis). */
  FLASHCAST_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{0,32}$/).default('fc'),
  FLASHCAST_MAX_FRAME_BYTES: int(16 * 1024, 256, 1024 * 1024),
  FLASHCAST_HISTORY_SIZE: int(2_000, 10, 100_000),
  FLASHCAST_HISTORY_TTL_S: int(24 * 3600, 60),
  FLASHCAST_MAX_BACKPRESSURE: int(1024 * 1024, 16 * 1024),
  FLASHCAST_LAGGING_BYTES: int(256 * 1024, 1024),
  FLASHCAST_IDLE_TIMEOUT_S: int(60, 8, 960),
  FLASHCAST_CHAT_PER_VIEWER_PER_S: int(10, 1, 1000),
  FLASHCAST_LITE_CHAT_PER_S: int(2, 0, 100),
  FLASHCAST_MAX_ROOMS_PER_CONN: int(8, 1, 100),
  FLASHCAST_DRAIN_MS: int(2_000, 0, 120_000),
});

/** Validated runtime configuration (from the environment). See README "Configuration". */
export interface Config {
  host: string;
  port: number;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  databaseSchema: string | undefined;
  dataDir: string;
  jwtSecret: string;
  usingDevSecret: boolean;
  nodeId: string;
  redisPrefix: string;
  maxFrameBytes: number;
  historySize: number;
  historyTtlSeconds: number;
  maxBackpressure: number;
  laggingBytes: number;
  idleTimeoutSeconds: number;
  chatPerViewerPerSecond: number;
  liteChatPerSecond: number;
  maxRoomsPerConnection: number;
  drainMs: number;
}

/** Parses the environment; throws a readable error naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    dataDir: e.FLASHCAST_DATA_DIR,
    jwtSecret: e.FLASHCAST_JWT_SECRET,
    usingDevSecret: e.FLASHCAST_JWT_SECRET === DEV_SECRET,
    nodeId: e.FLASHCAST_NODE_ID ?? `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`,
    redisPrefix: e.FLASHCAST_REDIS_PREFIX,
    maxFrameBytes: e.FLASHCAST_MAX_FRAME_BYTES,
    historySize: e.FLASHCAST_HISTORY_SIZE,
    historyTtlSeconds: e.FLASHCAST_HISTORY_TTL_S,
    maxBackpressure: e.FLASHCAST_MAX_BACKPRESSURE,
    laggingBytes: e.FLASHCAST_LAGGING_BYTES,
    idleTimeoutSeconds: e.FLASHCAST_IDLE_TIMEOUT_S,
    chatPerViewerPerSecond: e.FLASHCAST_CHAT_PER_VIEWER_PER_S,
    liteChatPerSecond: e.FLASHCAST_LITE_CHAT_PER_S,
    maxRoomsPerConnection: e.FLASHCAST_MAX_ROOMS_PER_CONN,
    drainMs: e.FLASHCAST_DRAIN_MS,
    ...overrides,
  };
}
