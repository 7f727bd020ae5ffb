/**
 * The HTTP calls the studio makes, typed: the host's shops and catalog, the room's showcase,
 * deals, dashboard, moderation and OBS stream key. One HttpChannel with the host's token;
 * errors are the SDK's FlashcastRequestError with the server's stable code.
 */
import type { HttpChannel } from '../../../client-sdk/HttpChannel.js';
import { randomKey } from '../shared/errorMessage.js';

export interface Money {
  amount: number;
  currency: string;
}

export interface Shop {
  id: string;
  ownerUserId: string;
  name: string;
  currency: string;
  country: string;
}

export interface Product {
  id: string;
  shopId: string;
  titles: Record<string, string>;
  images: string[];
  price: Money;
  stock: number;
  minPrice: number | null;
}

export interface AffiliatePlan {
  id: string;
  shopId: string;
  productId: string;
  creatorId: string | null;
  commissionBps: number;
  minDealPrice: Money;
  status: 'open' | 'closed';
  createdAt: number;
}

export interface Deal {
  id: string;
  kind: 'flash' | 'regular';
  roomId: string;
  productId: string;
  shopId: string;
  price: Money;
  totalStock: number;
  perBuyerLimit: number;
  countdownSeconds: number;
  durationSeconds: number;
  startsAt: number;
  endsAt: number;
  allowedRegions: string[];
  status: 'active' | 'ended' | 'closed';
  /** From GET /v1/rooms/{room}/deals: the phase when listed, units sold and left (null once ended). */
  phase?: 'scheduled' | 'countdown' | 'active' | 'ended';
  soldUnits?: number;
  available?: number | null;
}

export interface DealInput {
  productId: string;
  price: Money;
  totalStock: number;
  perBuyerLimit: number;
  countdownSeconds: number;
  durationSeconds: number;
  allowedRegions?: string[];
}

export interface ProductInput {
  titles: Record<string, string>;
  images: string[];
  price: Money;
  stock: number;
}

export interface StreamKey {
  whipUrl: string;
  streamKey: string;
  expiresAt: number;
}

/** Who is muted or banned in the room, and its chat settings (GET /v1/rooms/{room}/moderation). */
export interface ModerationSettings {
  slowModeSeconds: number;
  words: string[];
  /** `until`: ms; 0 = until lifted. */
  mutes: { userId: string; until: number }[];
  bans: { userId: string; until: number }[];
}

export interface DashboardStats {
  room: string;
  gmv: Money[];
  orders: number;
  units: number;
  buyers: number;
  viewers: number;
  conversion: number;
  ts: number;
}

const newKey = randomKey;
const path = encodeURIComponent;

/** The studio's HTTP API for one host and one room. */
export class StudioApi {
  readonly #http: HttpChannel;
  readonly roomId: string;

  constructor(http: HttpChannel, roomId: string) {
    this.#http = http;
    this.roomId = roomId;
  }

  get #room(): string {
    return `/v1/rooms/${path(this.roomId)}`;
  }

  async myShops(): Promise<Shop[]> {
    return (await this.#http.request<{ shops: Shop[] }>('GET', '/v1/me/shops')).shops;
  }

  createShop(input: { name: string; currency: string; country: string }): Promise<Shop> {
    return this.#http.request<Shop>('POST', '/v1/shops', input, { 'idempotency-key': newKey() });
  }

  /** The shop's whole catalog (every page). */
  async products(shopId: string): Promise<Product[]> {
    const all: Product[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `limit=200${cursor ? `&cursor=${path(cursor)}` : ''}`;
      const page: { products: Product[]; nextCursor?: string | null } = await this.#http.request('GET', `/v1/shops/${path(shopId)}/products?${query}`);
      all.push(...page.products);
      cursor = page.nextCursor ?? null;
    } while (cursor && all.length < 10_000);
    return all;
  }

  product(productId: string): Promise<Product> {
    return this.#http.request<Product>('GET', `/v1/products/${path(productId)}`);
  }

  createProduct(shopId: string, input: ProductInput): Promise<Product> {
    return this.#http.request<Product>('POST', `/v1/shops/${path(shopId)}/products`, input, { 'idempotency-key': newKey() });
  }

  /** The open affiliate plans this host may sell under (other shops' products). */
  async affiliatePlans(): Promise<AffiliatePlan[]> {
    return (await this.#http.request<{ plans: AffiliatePlan[] }>('GET', '/v1/me/affiliate-plans')).plans;
  }

  async showcase(): Promise<Product[]> {
    return (await this.#http.request<{ products: Product[] }>('GET', `${this.#room}/showcase`)).products;
  }

  addToShowcase(productId: string): Promise<void> {
    return this.#http.request<void>('POST', `${this.#room}/showcase`, { productId });
  }

  setShowcase(productIds: string[]): Promise<void> {
    return this.#http.request<void>('PUT', `${this.#room}/showcase`, { productIds });
  }

  async deals(): Promise<Deal[]> {
    return (await this.#http.request<{ deals: Deal[] }>('GET', `${this.#room}/deals`)).deals;
  }

  createDeal(input: DealInput): Promise<Deal> {
    return this.#http.request<Deal>('POST', `${this.#room}/deals`, input, { 'idempotency-key': newKey() });
  }

  endDeal(dealId: string): Promise<void> {
    return this.#http.request<void>('POST', `/v1/deals/${path(dealId)}/end`);
  }

  dashboard(): Promise<DashboardStats> {
    return this.#http.request<DashboardStats>('GET', `${this.#room}/dashboard`);
  }

  /** A fresh WHIP URL and stream key for OBS. */
  streamKey(): Promise<StreamKey> {
    return this.#http.request<StreamKey>('POST', `${this.#room}/stream-keys`);
  }

  moderation(): Promise<ModerationSettings> {
    return this.#http.request<ModerationSettings>('GET', `${this.#room}/moderation`);
  }
}
