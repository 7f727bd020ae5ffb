import type { WebhookDeal } from '../webhooks/WebhookEvent.js';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.js';

/** What a deal event says of a deal (a FlashDeals `Deal` is one). */
export interface DealFacts {
  id: string;
  shopId: string;
  roomId: string;
  productId: string;
  price: { amount: number; currency: string };
  totalStock: number;
  perBuyerLimit: number;
  /** ms since the epoch. */
  startsAt: number;
  endsAt: number;
}

/**
 * The deal events of merchant webhooks (deal.started, deal.ended), recorded in the webhook
 * outbox by FlashDeals right after each phase change, once per deal however often its phase
 * job runs. Never throws.
 */
export class DealEvents {
  readonly #outbox: WebhookOutbox;

  constructor(outbox: WebhookOutbox) {
    this.#outbox = outbox;
  }

  /** The deal went live. */
  async started(deal: DealFacts): Promise<void> {
    await this.#outbox.record({ shopId: deal.shopId, type: 'deal.started', key: deal.id, data: { deal: DealEvents.view(deal, 'active') } });
  }

  /** The deal ended (time up, or ended by its host) with `soldUnits` sold or still paying. */
  async ended(deal: DealFacts, soldUnits: number): Promise<void> {
    await this.#outbox.record({ shopId: deal.shopId, type: 'deal.ended', key: deal.id, data: { deal: DealEvents.view(deal, 'ended'), soldUnits } });
  }

  /** The deal as webhooks carry it. */
  static view(deal: DealFacts, status: string): WebhookDeal {
    return {
      id: deal.id, shopId: deal.shopId, roomId: deal.roomId, productId: deal.productId, price: { ...deal.price }, totalStock: deal.totalStock,
      perBuyerLimit: deal.perBuyerLimit, startsAt: new Date(deal.startsAt).toISOString(), endsAt: new Date(deal.endsAt).toISOString(), status,
    };
  }
}
