import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../common/config.js';
import { defaultSfuConfig, sfuConfigFrom } from './SfuConfig.js';

const SECRET = 'a-real-secret-0123456789';
const fromEnv = (env: Record<string, string>) => sfuConfigFrom(loadConfig({ FLASHCAST_JWT_SECRET: SECRET, ...env }));

describe('sfuConfigFrom', () => {
  it('keeps every default when no FLASHCAST_SFU_* is set (WHIP: 2 per room, 64 per process, 30 s)', () => {
    expect(fromEnv({})).toEqual(defaultSfuConfig());
    expect(fromEnv({ FLASHCAST_SFU_WORKERS: '', FLASHCAST_SFU_LISTEN_IP: '' })).toEqual(defaultSfuConfig());
    expect(defaultSfuConfig()).toMatchObject({
      listenIp: '127.0.0.1', rtcMinPort: 40000, rtcMaxPort: 49999, consumersPerRouter: 400, keyFrameRequestDelayMs: 1000,
      whipMaxIngestsPerRoom: 2, whipMaxIngests: 64, whipConnectTimeoutMs: 30_000,
    });
  });

  it('reads every FLASHCAST_SFU_* media setting through the config schema', () => {
    const cfg = fromEnv({
      FLASHCAST_SFU_WORKERS: '3',
      FLASHCAST_SFU_LISTEN_IP: '0.0.0.0',
      FLASHCAST_SFU_ANNOUNCED_ADDRESS: 'media.example.com',
      FLASHCAST_SFU_RTC_MIN_PORT: '41000',
      FLASHCAST_SFU_RTC_MAX_PORT: '41999',
      FLASHCAST_SFU_CONSUMERS_PER_ROUTER: '50',
      FLASHCAST_SFU_KEYFRAME_DELAY_MS: '0',
      FLASHCAST_SFU_WHIP_MAX_PER_ROOM: '1',
      FLASHCAST_SFU_WHIP_MAX_INGESTS: '10',
      FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS: '5000',
    });
    expect(cfg).toMatchObject({
      workers: 3, listenIp: '0.0.0.0', announcedAddress: 'media.example.com', rtcMinPort: 41000, rtcMaxPort: 41999,
      consumersPerRouter: 50, keyFrameRequestDelayMs: 0, whipMaxIngestsPerRoom: 1, whipMaxIngests: 10, whipConnectTimeoutMs: 5000,
    });
    expect(sfuConfigFrom({ sfuMedia: { workers: 3 } }, { workers: 1 }).workers).toBe(1);
  });

  it('reads the idle-room grace, 30 s by default', () => {
    expect(fromEnv({}).roomIdleTimeoutMs).toBe(30_000);
    expect(fromEnv({ FLASHCAST_SFU_ROOM_IDLE_TIMEOUT_MS: '5000' }).roomIdleTimeoutMs).toBe(5000);
    expect(() => fromEnv({ FLASHCAST_SFU_ROOM_IDLE_TIMEOUT_MS: '0' })).toThrow(ConfigError);
  });

  it('refuses WHIP settings that are not positive integers, naming the variable', () => {
    for (const bad of ['0', '-1', '1.5', 'soon']) {
      expect(() => fromEnv({ FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS: bad }), bad).toThrow(ConfigError);
      expect(() => fromEnv({ FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS: bad }), bad).toThrow(/FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS/);
    }
  });
});
