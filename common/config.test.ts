import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_SECRET, loadConfig } from './config.js';

const SECRET = 'a-real-secret-0123456789';

describe('loadConfig', () => {
  it('refuses to run without FLASHCAST_JWT_SECRET, and says what to set', () => {
    for (const env of [{}, { FLASHCAST_JWT_SECRET: '' }, { FLASHCAST_DEV: '0' }]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(/FLASHCAST_JWT_SECRET is not set[\s\S]*FLASHCAST_DEV=1/);
    }
  });

  it('refuses the public development secret unless FLASHCAST_DEV=1', () => {
    expect(() => loadConfig({ FLASHCAST_JWT_SECRET: DEV_SECRET })).toThrow(/public development secret/);
    const dev = loadConfig({ FLASHCAST_JWT_SECRET: DEV_SECRET, FLASHCAST_DEV: '1' });
    expect([dev.devMode, dev.usingDevSecret]).toEqual([true, true]);
  });

  it('uses the development secret in dev mode when none is set', () => {
    const dev = loadConfig({ FLASHCAST_DEV: '1' });
    expect([dev.jwtSecret, dev.usingDevSecret]).toEqual([DEV_SECRET, true]);
  });

  it('takes a real secret, in dev mode or not', () => {
    for (const env of [{ FLASHCAST_JWT_SECRET: SECRET }, { FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_DEV: '1' }]) {
      const config = loadConfig(env);
      expect([config.jwtSecret, config.usingDevSecret]).toEqual([SECRET, false]);
    }
  });

  it('reads the web token settings: guests on by default, the shop token endpoint, lifetimes, mint rate', () => {
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET }).web).toEqual({
      tokenEndpoint: null, guests: true, guestTtlSeconds: 7200, streamKeyTtlSeconds: 7 * 86_400, tokenRate: { perSecond: 5, burst: 50 },
    });
    const set = loadConfig({
      FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_GUEST_VIEWERS: '0', FLASHCAST_TOKEN_ENDPOINT: 'https://shop.example/flashcast-token',
      FLASHCAST_GUEST_TTL_S: '600', FLASHCAST_STREAM_KEY_TTL_S: '3600', FLASHCAST_TOKEN_RATE: '1/3',
    }).web;
    expect(set).toEqual({
      tokenEndpoint: 'https://shop.example/flashcast-token', guests: false, guestTtlSeconds: 600, streamKeyTtlSeconds: 3600, tokenRate: { perSecond: 1, burst: 3 },
    });
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_TOKEN_ENDPOINT: '/account/flashcast-token' }).web.tokenEndpoint).toBe('/account/flashcast-token');
    for (const [name, value] of [['FLASHCAST_TOKEN_ENDPOINT', 'javascript:alert(1)'], ['FLASHCAST_GUEST_TTL_S', '999999'], ['FLASHCAST_GUEST_VIEWERS', 'yes']]) {
      expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, [name]: value }), name).toThrow(new RegExp(name));
    }
  });

  it('names every bad variable', () => {
    const error = (() => {
      try {
        loadConfig({ FLASHCAST_JWT_SECRET: 'short', FLASHCAST_DEV: 'yes', SETTLEMENT_CONCURRENCY: '0', FLASHCAST_SFU: 'maybe' });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of ['FLASHCAST_JWT_SECRET', 'FLASHCAST_DEV', 'SETTLEMENT_CONCURRENCY', 'FLASHCAST_SFU']) expect(error!.message).toContain(name);
  });

  it('takes one Redis server or a cluster, from REDIS_URL or REDIS_CLUSTER_NODES', () => {
    const base = { FLASHCAST_JWT_SECRET: SECRET };
    expect(loadConfig(base).redisUrl).toBeUndefined();
    expect(loadConfig({ ...base, REDIS_URL: 'redis://10.0.0.1:6380/2' }).redisUrl).toBe('redis://10.0.0.1:6380/2');
    expect(loadConfig({ ...base, REDIS_URL: 'rediss+cluster://u:p@h1:7001,h2:7002' }).redisUrl).toBe('rediss+cluster://u:p@h1:7001,h2:7002');
    expect(loadConfig({ ...base, REDIS_CLUSTER_NODES: 'h1:7001, h2:7002,[::1]:7003' }).redisUrl).toBe('redis+cluster://h1:7001,h2:7002,[::1]:7003');
    expect(() => loadConfig({ ...base, REDIS_URL: 'http://h1:6379' })).toThrow(/REDIS_URL: a Redis URL starts with/);
    expect(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: 'h1:70001' })).toThrow(/REDIS_CLUSTER_NODES: not a host:port/);
    expect(() => loadConfig({ ...base, REDIS_URL: 'redis+cluster://h1:7001/0' })).toThrow(/REDIS_URL: a cluster URL names nodes only/);
    expect(() => loadConfig({ ...base, REDIS_URL: 'redis://h', REDIS_CLUSTER_NODES: 'h1:7001' })).toThrow(/not both/);
  });

  it('reads the worker, sfu and gateway settings of every process from one schema', () => {
    const defaults = loadConfig({ FLASHCAST_JWT_SECRET: SECRET });
    expect(defaults).toMatchObject({
      maxConnectionsPerUser: 10, historySize: 2000, historyTtlSeconds: 86_400, commerce: true, sfu: false, sfuHttpPort: 8090,
      settlementConcurrency: 256, settlementDbPool: 16, settlementLockMs: 30_000, settlementStalledMs: 30_000,
      settlementReturnWindowMs: 14 * 86_400_000,
    });
    const set = loadConfig({
      FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_MAX_CONNS_PER_USER: '3', FLASHCAST_COMMERCE: '0', FLASHCAST_SFU: 'remote',
      SETTLEMENT_CONCURRENCY: '8', SETTLEMENT_DB_POOL: '', FLASHCAST_SFU_NODE_ID: 'sfu-a', FLASHCAST_SFU_HTTP_PORT: '0',
    });
    expect(set).toMatchObject({
      maxConnectionsPerUser: 3, commerce: false, sfu: 'remote', settlementConcurrency: 8, settlementDbPool: 16, sfuNodeId: 'sfu-a', sfuHttpPort: 0,
    });
  });

  it('reads the media plane and sandbox settings, leaving unset ones out (their parts keep their defaults)', () => {
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET })).toMatchObject({ sfuMedia: {}, sandbox: {} });
    const set = loadConfig({
      FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_SFU_WORKERS: '2', FLASHCAST_SFU_RTC_MIN_PORT: '41000', FLASHCAST_SFU_LISTEN_IP: '',
      SANDBOX_OUTAGE: '0', SANDBOX_DECLINE_RATE: '0.25', SANDBOX_ANSWER_DELAY_MS: '60000',
    });
    expect(set.sfuMedia).toEqual({ workers: 2, rtcMinPort: 41000 });
    expect(set.sandbox).toEqual({ outage: false, declineRate: 0.25, answerDelayMs: 60_000 });
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET, SANDBOX_OUTAGE: '1' }).sandbox).toEqual({ outage: true });
    for (const [name, bad] of [['SANDBOX_DECLINE_RATE', '2'], ['SANDBOX_LATENCY_MS', '-5'], ['FLASHCAST_SFU_RTC_MAX_PORT', '70000']]) {
      expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, [name]: bad }), name).toThrow(new RegExp(name));
    }
  });

  it('reads the payment settings: a per-provider notification secret (derived from the JWT secret when unset), the step hold and its limit', () => {
    const defaults = loadConfig({ FLASHCAST_JWT_SECRET: SECRET });
    expect(defaults.publicUrl).toBeUndefined();
    expect(defaults.payments).toMatchObject({ notificationToleranceMs: 300_000, stepHoldMs: 600_000, maxStepHoldMs: 1_800_000 });
    // Derived: the same on every process sharing the JWT secret, but never the JWT secret itself.
    expect(defaults.payments.sandboxSecret).toBe(loadConfig({ FLASHCAST_JWT_SECRET: SECRET }).payments.sandboxSecret);
    expect(defaults.payments.sandboxSecret).not.toContain(SECRET);
    expect(loadConfig({ FLASHCAST_JWT_SECRET: `${SECRET}x` }).payments.sandboxSecret).not.toBe(defaults.payments.sandboxSecret);
    const set = loadConfig({
      FLASHCAST_JWT_SECRET: SECRET, PAYMENT_SANDBOX_SECRET: 'whsec-0123456789abcdef', PAYMENT_NOTIFICATION_TOLERANCE_S: '60',
      PAYMENT_STEP_HOLD_MS: '900000', PAYMENT_STEP_MAX_HOLD_MS: '600000', FLASHCAST_PUBLIC_URL: 'https://live.example.com',
    });
    // A step hold longer than the limit is the limit.
    expect(set.payments).toEqual({ sandboxSecret: 'whsec-0123456789abcdef', notificationToleranceMs: 60_000, stepHoldMs: 600_000, maxStepHoldMs: 600_000 });
    expect(set.publicUrl).toBe('https://live.example.com');
    for (const [name, bad] of [['PAYMENT_SANDBOX_SECRET', 'short'], ['FLASHCAST_PUBLIC_URL', 'https://x.example/'], ['FLASHCAST_PUBLIC_URL', 'ftp://x'], ['PAYMENT_NOTIFICATION_TOLERANCE_S', '0']]) {
      expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, [name]: bad }), `${name}=${bad}`).toThrow(new RegExp(name));
    }
  });

  it('reads the realtime limits, token buckets as "rate/burst"', () => {
    const defaults = loadConfig({ FLASHCAST_JWT_SECRET: SECRET });
    expect(defaults).toMatchObject({
      frameRate: { perSecond: 50, burst: 100 }, chatRate: { perSecond: 3, burst: 6 }, staffChatRate: { perSecond: 20, burst: 40 },
      reactRate: { perSecond: 20, burst: 40 }, joinRate: { perSecond: 5, burst: 10 }, roomChatIngressPerSecond: 200, roomChatPerSecond: 200,
      badFramesBeforeClose: 5, floodViolations: 50, floodWindowMs: 10_000, sweepMs: 200, maxBodyBytes: 65_536,
    });
    const set = loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_CHAT_RATE: '0.5/2', FLASHCAST_JOIN_RATE: '', FLASHCAST_SWEEP_MS: '50' });
    expect(set).toMatchObject({ chatRate: { perSecond: 0.5, burst: 2 }, joinRate: { perSecond: 5, burst: 10 }, sweepMs: 50 });
    for (const bad of ['3', '3/0', '0/6', '-1/6', 'fast', '3/6/9']) {
      expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_CHAT_RATE: bad }), bad).toThrow(/FLASHCAST_CHAT_RATE[^\n]*rate\/burst/);
    }
  });

  it('reads CORS origins exactly as browsers send them, or "*" alone', () => {
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET }).corsOrigins).toEqual([]);
    const set = loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_CORS_ORIGINS: 'https://shop.example, http://localhost:5173,' });
    expect(set.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    for (const bad of ['https://shop.example/', 'https://Shop.example', 'shop.example', 'ftp://shop.example', 'https://shop.example/path', '*,https://a.example', 'null']) {
      expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_CORS_ORIGINS: bad }), bad).toThrow(/FLASHCAST_CORS_ORIGINS/);
    }
  });

  it('reads trusted proxies as addresses and IPv4 networks', () => {
    expect(loadConfig({ FLASHCAST_JWT_SECRET: SECRET }).trustedProxies).toEqual([]);
    const set = loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1' });
    expect(set.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', '::1']);
    for (const bad of ['lb.internal', '10.0.0.0/40', '*']) {
      expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_TRUSTED_PROXIES: bad }), bad).toThrow(/FLASHCAST_TRUSTED_PROXIES/);
    }
  });

  it('takes TLS files as a pair, and video on unless FLASHCAST_VIDEO=off', () => {
    const plain = loadConfig({ FLASHCAST_JWT_SECRET: SECRET });
    expect([plain.tls, plain.video]).toEqual([undefined, true]);
    const tls = loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_TLS_CERT: '/c.pem', FLASHCAST_TLS_KEY: '/k.pem', FLASHCAST_VIDEO: 'off' });
    expect([tls.tls, tls.video]).toEqual([{ certFile: '/c.pem', keyFile: '/k.pem' }, false]);
    expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_TLS_CERT: '/c.pem' })).toThrow(/FLASHCAST_TLS_CERT and FLASHCAST_TLS_KEY go together/);
    expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_TLS_KEY: '/k.pem' })).toThrow(ConfigError);
    expect(() => loadConfig({ FLASHCAST_JWT_SECRET: SECRET, FLASHCAST_VIDEO: 'maybe' })).toThrow(/FLASHCAST_VIDEO/);
  });
});
