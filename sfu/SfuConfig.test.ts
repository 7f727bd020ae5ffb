import { describe, expect, it } from 'vitest';
import { sfuConfigFromEnv } from './SfuConfig.js';

describe('sfuConfigFromEnv', () => {
  it('reads the WHIP limits and connect timeout, with defaults 2 per room, 64 per process, 30 s', () => {
    expect(sfuConfigFromEnv({})).toMatchObject({ whipMaxIngestsPerRoom: 2, whipMaxIngests: 64, whipConnectTimeoutMs: 30_000 });
    const cfg = sfuConfigFromEnv({
      FLASHCAST_SFU_WHIP_MAX_PER_ROOM: '1',
      FLASHCAST_SFU_WHIP_MAX_INGESTS: '10',
      FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS: '5000',
    });
    expect(cfg).toMatchObject({ whipMaxIngestsPerRoom: 1, whipMaxIngests: 10, whipConnectTimeoutMs: 5000 });
  });

  it('reads the idle-room grace, 30 s by default', () => {
    expect(sfuConfigFromEnv({}).roomIdleTimeoutMs).toBe(30_000);
    expect(sfuConfigFromEnv({ FLASHCAST_SFU_ROOM_IDLE_TIMEOUT_MS: '5000' }).roomIdleTimeoutMs).toBe(5000);
    expect(() => sfuConfigFromEnv({ FLASHCAST_SFU_ROOM_IDLE_TIMEOUT_MS: '0' })).toThrow(/positive integer/);
  });

  it('refuses WHIP settings that are not positive integers', () => {
    for (const bad of ['0', '-1', '1.5', 'soon']) {
      expect(() => sfuConfigFromEnv({ FLASHCAST_SFU_WHIP_CONNECT_TIMEOUT_MS: bad }), bad).toThrow(/positive integer/);
    }
  });
});
