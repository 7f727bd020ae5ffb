import { flashcast } from '../../protocol/index.js';
import type { StockChange } from './Reservation.js';

/**
 * The room's InventoryUpdate after a stock change made by a script (reservation, release,
 * expiry): `available` and `version` exactly as that script returned them, the phase from the
 * deal's state read in the same script (holds exist only once a deal is live, so the phase is
 * live, sold out or ended).
 */
export function stockUpdate(deal: { productId: string; dealId: string; total: number }, stock: StockChange, now = Date.now()): flashcast.IInventoryUpdate {
  const ended = stock.endsAt === 0 || now >= stock.endsAt;
  return {
    productId: deal.productId, dealId: deal.dealId, available: stock.available, total: deal.total, version: stock.version,
    phase: ended ? flashcast.DealPhase.DEAL_ENDED : stock.available > 0 ? flashcast.DealPhase.DEAL_LIVE : flashcast.DealPhase.DEAL_SOLD_OUT,
    phaseEndsAt: ended ? 0 : stock.endsAt,
  };
}
