import { describe, expect, it } from 'vitest';
import { dealListPhase } from './FlashDeals.js';

describe('dealListPhase (the studio\'s deal list)', () => {
  const t0 = 1_700_000_000_000;
  /** A deal created at t0 with a 30 s countdown and 10 min on sale. */
  const deal = { status: 'active' as const, countdownSeconds: 30, startsAt: t0 + 30_000, endsAt: t0 + 30_000 + 600_000 };

  it('counts down from creation to its start, is active until its end, then ended', () => {
    expect(dealListPhase(deal, t0)).toBe('countdown');
    expect(dealListPhase(deal, deal.startsAt - 1)).toBe('countdown');
    expect(dealListPhase(deal, deal.startsAt)).toBe('active');
    expect(dealListPhase(deal, deal.endsAt - 1)).toBe('active');
    expect(dealListPhase(deal, deal.endsAt)).toBe('ended');
  });

  it('is scheduled while its start is further away than its countdown', () => {
    const later = { ...deal, startsAt: t0 + 3_600_000, endsAt: t0 + 4_200_000 };
    expect(dealListPhase(later, t0)).toBe('scheduled');
    expect(dealListPhase(later, later.startsAt - 30_001)).toBe('scheduled');
    expect(dealListPhase(later, later.startsAt - 30_000)).toBe('countdown');
  });

  it('is ended once its status is, whatever the clock says', () => {
    for (const status of ['ended', 'closed'] as const) {
      expect(dealListPhase({ ...deal, status }, t0)).toBe('ended');
      expect(dealListPhase({ ...deal, status }, deal.startsAt + 1)).toBe('ended');
    }
  });
});
