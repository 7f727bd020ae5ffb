/**
 * What the pinned product offers right now, from the room's state: its flash deal (counting
 * down, live, sold out) with its stock and end, its regular-price listing, and what a tap on
 * the buy button buys (the live deal; the listing when there is no deal or the deal sold out;
 * nothing during a countdown). Pure: the element re-derives it on every change.
 */
import { flashcast } from '../../../protocol/gen/flashcast.js';

export interface Money {
  amount: number;
  currency: string;
}

/** What `GET /v1/deals/{id}` tells about a deal (public). */
export interface DealInfo {
  price: Money;
  kind: 'flash' | 'regular';
  /** When the deal ends (server clock, ms). */
  endsAt: number;
}

export interface FlashDealView {
  id: string;
  /** The deal price (null until known: the card or `GET /v1/deals/{id}` gives it). */
  price: Money | null;
  phase: flashcast.DealPhase;
  available: number;
  total: number;
  /** When the current phase ends (server clock, ms): the start while scheduled, the end while live. */
  endsAt: number;
}

export interface Offer {
  productId: string;
  title: string;
  imageUrl: string;
  /** The regular price. */
  price: Money;
  deal: FlashDealView | null;
  listing: { id: string; available: number; total: number } | null;
  /** What the buy button buys now; null when it cannot. */
  buy: { dealId: string; price: Money } | null;
  /** Why it cannot. */
  blocked: 'starts' | 'soldOut' | 'ended' | null;
}

const { DEAL_SCHEDULED, DEAL_LIVE, DEAL_SOLD_OUT, DEAL_ENDED } = flashcast.DealPhase;
const RANK = new Map([[DEAL_LIVE, 3], [DEAL_SCHEDULED, 2], [DEAL_SOLD_OUT, 1]]);

const money = (m: flashcast.IMoney | null | undefined): Money | null =>
  m && m.currency ? { amount: Number(m.amount ?? 0), currency: m.currency } : null;

/** A flash deal (with a countdown and an end) rather than the product's regular listing. */
function isFlash(inv: flashcast.IInventoryUpdate, deals: ReadonlyMap<string, DealInfo>): boolean {
  const known = deals.get(inv.dealId ?? '');
  if (known) return known.kind === 'flash';
  return inv.phase === DEAL_SCHEDULED || Number(inv.phaseEndsAt ?? 0) > 0;
}

/** A scheduled deal whose start has passed, as live until its end (known from the deal lookup, else unknown: 0). */
function started(inv: flashcast.IInventoryUpdate, deals: ReadonlyMap<string, DealInfo>, now: number): flashcast.IInventoryUpdate {
  const startsAt = Number(inv.phaseEndsAt ?? 0);
  if (inv.phase !== DEAL_SCHEDULED || startsAt === 0 || startsAt > now) return inv;
  return { ...inv, phase: Number(inv.available ?? 0) > 0 ? DEAL_LIVE : DEAL_SOLD_OUT, phaseEndsAt: deals.get(inv.dealId ?? '')?.endsAt ?? 0 };
}

/**
 * The pinned product's offer, or null when nothing is pinned. `now` is the server's time: a deal
 * still said to be scheduled once its start has passed is live (the phase change is on its way).
 */
export function currentOffer(
  pinned: flashcast.IProductCard | null,
  inventory: ReadonlyMap<string, flashcast.IInventoryUpdate>,
  deals: ReadonlyMap<string, DealInfo>,
  now: number,
): Offer | null {
  if (!pinned?.productId) return null;
  const productId = pinned.productId;
  const price = money(pinned.price) ?? { amount: 0, currency: 'USD' };
  const mine = [...inventory.values()].filter((i) => i.productId === productId && i.dealId).map((i) => started(i, deals, now));
  let flash: flashcast.IInventoryUpdate | null = null;
  let listing: flashcast.IInventoryUpdate | null = null;
  for (const inv of mine) {
    if (!isFlash(inv, deals)) {
      listing = inv;
      continue;
    }
    const rank = RANK.get(inv.phase ?? 0) ?? 0;
    if (rank === 0) continue; // ended
    const best = flash ? (RANK.get(flash.phase ?? 0) ?? 0) : 0;
    if (rank > best || (rank === best && inv.dealId === pinned.dealId)) flash = inv;
  }
  const deal: FlashDealView | null = flash && {
    id: flash.dealId!,
    price: (flash.dealId === pinned.dealId ? money(pinned.dealPrice) : null) ?? deals.get(flash.dealId!)?.price ?? null,
    phase: flash.phase ?? DEAL_LIVE,
    available: Number(flash.available ?? 0),
    total: Number(flash.total ?? 0),
    endsAt: Number(flash.phaseEndsAt ?? 0),
  };
  const list = listing && { id: listing.dealId!, available: Number(listing.available ?? 0), total: Number(listing.total ?? 0) };
  const listingOpen = list !== null && list.available > 0 && listing!.phase !== DEAL_ENDED;
  const regular = { dealId: list?.id ?? '', price };

  let buy: Offer['buy'] = null;
  let blocked: Offer['blocked'] = null;
  if (deal?.phase === DEAL_LIVE && deal.available > 0) buy = { dealId: deal.id, price: deal.price ?? price };
  else if (deal?.phase === DEAL_SCHEDULED) blocked = 'starts';
  else if (listingOpen) buy = regular;
  else if (deal || (list && listing!.phase !== DEAL_ENDED)) blocked = 'soldOut';
  else if (mine.length > 0) blocked = 'ended'; // only ended deals (or an ended listing)
  else buy = regular; // no stock known: the server decides what a tap buys

  return { productId, title: pinned.title ?? '', imageUrl: pinned.imageUrl ?? '', price, deal, listing: list, buy, blocked };
}
