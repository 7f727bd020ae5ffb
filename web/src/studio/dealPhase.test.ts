import { describe, expect, it } from 'vitest';
import { flashcast } from '../../../protocol/gen/flashcast.js';
import { clock, dealView } from './dealPhase.js';
import type { Deal } from './StudioApi.js';

const deal: Deal = {
  id: 'd1', kind: 'flash', roomId: 'r', productId: 'p', shopId: 's', price: { amount: 999, currency: 'USD' },
  totalStock: 20, perBuyerLimit: 2, countdownSeconds: 30, durationSeconds: 300, startsAt: 100_000, endsAt: 400_000,
  allowedRegions: [], status: 'active',
};
const inv = (phase: flashcast.DealPhase, available: number, phaseEndsAt = 0) => ({ dealId: 'd1', productId: 'p', phase, available, total: 20, phaseEndsAt });

describe('dealView', () => {
  it('without inventory, follows the deal\'s times', () => {
    expect(dealView(deal, undefined, 50_000)).toEqual({ phase: 'SCHEDULED', until: 100_000, available: null, total: 20 });
    expect(dealView(deal, undefined, 150_000)).toEqual({ phase: 'LIVE', until: 400_000, available: null, total: 20 });
    expect(dealView(deal, undefined, 400_000).phase).toBe('ENDED');
    expect(dealView({ ...deal, status: 'ended' }, undefined, 150_000).phase).toBe('ENDED');
  });

  it('takes the room\'s phase and stock', () => {
    expect(dealView(deal, inv(flashcast.DealPhase.DEAL_SCHEDULED, 20, 100_000), 60_000)).toEqual({ phase: 'SCHEDULED', until: 100_000, available: 20, total: 20 });
    expect(dealView(deal, inv(flashcast.DealPhase.DEAL_LIVE, 7, 400_000), 200_000)).toEqual({ phase: 'LIVE', until: 400_000, available: 7, total: 20 });
    expect(dealView(deal, inv(flashcast.DealPhase.DEAL_SOLD_OUT, 0), 200_000).phase).toBe('SOLD_OUT');
    expect(dealView(deal, inv(flashcast.DealPhase.DEAL_ENDED, 3), 200_000)).toEqual({ phase: 'ENDED', until: 0, available: 3, total: 20 });
  });

  it('a countdown past its end shows live before the room says so; an end the room has not announced yet shows ended', () => {
    expect(dealView(deal, inv(flashcast.DealPhase.DEAL_SCHEDULED, 20, 100_000), 101_500).phase).toBe('LIVE');
    expect(dealView(deal, inv(flashcast.DealPhase.DEAL_LIVE, 5, 400_000), 400_001).phase).toBe('ENDED');
  });
});

describe('clock', () => {
  it('formats a countdown', () => {
    expect(clock(275_000)).toBe('4:35');
    expect(clock(9_001)).toBe('0:10');
    expect(clock(3_725_000)).toBe('1:02:05');
    expect(clock(-5)).toBe('0:00');
  });
});
