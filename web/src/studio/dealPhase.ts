/**
 * Where a deal stands for the studio's list: its phase, when that phase ends and its stock,
 * from the live inventory the room pushes when there is one, else from the deal's own times.
 */
import { flashcast } from '../../../protocol/gen/flashcast.js';
import type { Deal } from './StudioApi.js';

export type DealPhaseName = 'SCHEDULED' | 'LIVE' | 'SOLD_OUT' | 'ENDED';

export interface DealView {
  phase: DealPhaseName;
  /** Server time (ms) the phase ends: the countdown's or the sale's end; 0 when over. */
  until: number;
  /** Units left; null until the room has said. */
  available: number | null;
  total: number;
}

const NAMES: Partial<Record<flashcast.DealPhase, DealPhaseName>> = {
  [flashcast.DealPhase.DEAL_SCHEDULED]: 'SCHEDULED',
  [flashcast.DealPhase.DEAL_LIVE]: 'LIVE',
  [flashcast.DealPhase.DEAL_SOLD_OUT]: 'SOLD_OUT',
  [flashcast.DealPhase.DEAL_ENDED]: 'ENDED',
};

/** The deal's phase at server time `now`, given the room's latest inventory for it (if any). */
export function dealView(deal: Deal, inventory: flashcast.IInventoryUpdate | undefined, now: number): DealView {
  const total = Number(inventory?.total ?? 0) || deal.totalStock;
  const available = inventory ? Number(inventory.available ?? 0) : deal.available ?? null;
  const known = inventory ? NAMES[inventory.phase ?? flashcast.DealPhase.DEAL_PHASE_UNSPECIFIED] : undefined;
  if (deal.status !== 'active' || known === 'ENDED' || (known !== 'SCHEDULED' && now >= deal.endsAt)) {
    return { phase: 'ENDED', until: 0, available, total };
  }
  if (known === 'SOLD_OUT') return { phase: 'SOLD_OUT', until: deal.endsAt, available: 0, total };
  const scheduled = known ? known === 'SCHEDULED' && now < deal.startsAt + 1000 : now < deal.startsAt;
  if (scheduled) return { phase: 'SCHEDULED', until: Number(inventory?.phaseEndsAt ?? 0) || deal.startsAt, available, total };
  return { phase: 'LIVE', until: deal.endsAt, available, total };
}

/** 275_000 ms → "4:35"; 3_725_000 → "1:02:05". Never negative. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
