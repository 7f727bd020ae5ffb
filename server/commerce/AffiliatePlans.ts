import { ErrorCode } from '../../protocol/codes.js';
import type { Database, Queryable } from '../db/Database.js';
import { ForbiddenError } from '../../common/errors.js';
import { newId } from './Catalog.js';
import { Currency } from './Currency.js';
import { CommerceErrorCode, CommerceNotFoundError, StateError } from './errors.js';

/**
 * A shop's offer to creators: they may sell one of its products in their rooms, at or above
 * `minDealPrice`, for `commissionBps` of each sale. `creatorId` null: open to every creator.
 */
export interface AffiliatePlan {
  id: string;
  shopId: string;
  productId: string;
  creatorId: string | null;
  commissionBps: number;
  /** In the product's currency. */
  minDealPrice: { amount: number; currency: string };
  status: 'open' | 'closed';
  createdAt: number;
}

export interface CreatePlanInput {
  productId: string;
  creatorId?: string | null;
  commissionBps: number;
  minDealPrice: { amount: number; currency: string };
}

/** What a deal is made under: the commission it pays and the plan it records. */
export interface DealTerms {
  commissionBps: number;
  planId: string | null;
}

/** The deal price is under the product's floor or the plan's lowest deal price. */
export class PriceBelowFloorError extends StateError {
  constructor(floor: number, currency: string) {
    super(CommerceErrorCode.PriceBelowFloor, `the deal price must be at least ${floor} (minor units of ${currency})`);
  }
}

interface PlanRow {
  id: string;
  shop_id: string;
  product_id: string;
  creator_id: string | null;
  commission_bps: number;
  min_deal_price: number;
  currency: string;
  status: 'open' | 'closed';
  created_at: Date | string;
}

const SELECT_PLAN = `SELECT a.id, a.shop_id, a.product_id, a.creator_id, a.commission_bps, a.min_deal_price, p.currency, a.status, a.created_at
  FROM affiliate_plans a JOIN products p ON p.id = a.product_id`;

const toPlan = (r: PlanRow): AffiliatePlan => ({
  id: r.id,
  shopId: r.shop_id,
  productId: r.product_id,
  creatorId: r.creator_id,
  commissionBps: Number(r.commission_bps),
  minDealPrice: { amount: Number(r.min_deal_price), currency: r.currency },
  status: r.status,
  createdAt: new Date(r.created_at).getTime(),
});

/**
 * Affiliate plans (table `affiliate_plans`): how a creator may sell another shop's product.
 * The shop opens and closes them; a deal on another shop's product is made only under an
 * open plan covering its creator, and takes the plan's commission (`dealTerms`).
 */
export class AffiliatePlans {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Opens a plan on one of the shop's products. */
  async create(shopId: string, input: CreatePlanInput): Promise<AffiliatePlan> {
    if (!Number.isInteger(input.commissionBps) || input.commissionBps < 0 || input.commissionBps > 10_000) {
      throw new TypeError('commissionBps must be 0-10000 basis points');
    }
    Currency.assertAmount(input.minDealPrice.amount);
    const { rows } = await this.#db.query<{ currency: string }>('SELECT currency FROM products WHERE id = $1 AND shop_id = $2', [input.productId, shopId]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product of this shop');
    if (input.minDealPrice.currency !== rows[0].currency) {
      throw new StateError(CommerceErrorCode.InvalidCurrency, `minDealPrice must be in the product currency ${rows[0].currency}`);
    }
    const id = newId('ap');
    await this.#db.query(
      `INSERT INTO affiliate_plans (id, shop_id, product_id, creator_id, commission_bps, min_deal_price) VALUES ($1,$2,$3,$4,$5,$6)`,
      [id, shopId, input.productId, input.creatorId ?? null, input.commissionBps, input.minDealPrice.amount],
    );
    return this.#get(this.#db, id);
  }

  /** The shop's plans, newest first. */
  async list(shopId: string): Promise<AffiliatePlan[]> {
    const { rows } = await this.#db.query<PlanRow>(`${SELECT_PLAN} WHERE a.shop_id = $1 ORDER BY a.created_at DESC, a.id`, [shopId]);
    return rows.map(toPlan);
  }

  /** Closes a plan (idempotent). Deals already made under it keep their terms. */
  async close(shopId: string, planId: string): Promise<AffiliatePlan> {
    const r = await this.#db.query(
      "UPDATE affiliate_plans SET status = 'closed', closed_at = COALESCE(closed_at, now()) WHERE id = $1 AND shop_id = $2", [planId, shopId]);
    if (r.rowCount === 0) throw new CommerceNotFoundError(CommerceErrorCode.PlanNotFound, 'affiliate plan of this shop');
    return this.#get(this.#db, planId);
  }

  /** Open plans a creator may sell under (named for them or open to every creator). */
  async forCreator(creatorId: string): Promise<AffiliatePlan[]> {
    const { rows } = await this.#db.query<PlanRow>(
      `${SELECT_PLAN} WHERE a.status = 'open' AND (a.creator_id = $1 OR a.creator_id IS NULL) ORDER BY a.created_at DESC, a.id`, [creatorId]);
    return rows.map(toPlan);
  }

  /**
   * For each product: its shop's owner and whether an open plan covers `creatorId`. The
   * facts the policy needs for showcase.write and deal.create. Unknown products: 404.
   */
  async productFacts(productIds: readonly string[], creatorId: string): Promise<Map<string, { ownerUserId: string; planCovers: boolean }>> {
    const unique = [...new Set(productIds)];
    const facts = new Map<string, { ownerUserId: string; planCovers: boolean }>();
    if (unique.length === 0) return facts;
    const { rows } = await this.#db.query<{ id: string; owner_user_id: string; covered: boolean }>(
      `SELECT p.id, s.owner_user_id, EXISTS (SELECT 1 FROM affiliate_plans a WHERE a.product_id = p.id AND a.status = 'open'
         AND (a.creator_id = $2 OR a.creator_id IS NULL)) AS covered
       FROM products p JOIN shops s ON s.id = p.shop_id WHERE p.id = ANY($1::text[])`, [unique, creatorId]);
    for (const r of rows) facts.set(r.id, { ownerUserId: r.owner_user_id, planCovers: r.covered === true });
    if (facts.size !== unique.length) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
    return facts;
  }

  /**
   * The open plan a creator sells a product under: one naming the creator first, else one
   * open to every creator; the newest of those.
   */
  static async openPlanFor(q: Queryable, productId: string, creatorId: string): Promise<AffiliatePlan | null> {
    const { rows } = await q.query<PlanRow>(
      `${SELECT_PLAN} WHERE a.product_id = $1 AND a.status = 'open' AND (a.creator_id = $2 OR a.creator_id IS NULL)
       ORDER BY (a.creator_id IS NULL), a.created_at DESC, a.id LIMIT 1`, [productId, creatorId]);
    return rows[0] ? toPlan(rows[0]) : null;
  }

  /**
   * The one place that decides a deal's commission (pure). The creator's own product: the
   * price must reach the product floor, commission 0, no plan. Another shop's product: only
   * under an open plan, at or above max(plan minimum, floor), at the plan's commission.
   */
  static dealTerms(input: {
    creatorId: string; shopOwnerId: string; floor: number | null; plan: AffiliatePlan | null; price: number; currency: string;
  }): DealTerms {
    const floor = input.floor ?? 0;
    if (input.shopOwnerId === input.creatorId) {
      if (input.price < floor) throw new PriceBelowFloorError(floor, input.currency);
      return { commissionBps: 0, planId: null };
    }
    const plan = input.plan;
    if (!plan || plan.status !== 'open' || (plan.creatorId !== null && plan.creatorId !== input.creatorId)) {
      throw new ForbiddenError("another shop's product needs an open affiliate plan of that shop for this creator", ErrorCode.AffiliatePlanRequired);
    }
    const minimum = Math.max(plan.minDealPrice.amount, floor);
    if (input.price < minimum) throw new PriceBelowFloorError(minimum, input.currency);
    return { commissionBps: plan.commissionBps, planId: plan.id };
  }

  async #get(q: Queryable, id: string): Promise<AffiliatePlan> {
    const { rows } = await q.query<PlanRow>(`${SELECT_PLAN} WHERE a.id = $1`, [id]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.PlanNotFound, 'affiliate plan');
    return toPlan(rows[0]);
  }
}
