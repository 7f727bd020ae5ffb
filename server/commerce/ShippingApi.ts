import { z } from 'zod';
import type { ApiRequest, HttpRouter } from '../../common/http/HttpRouter.js';
import type { AddressBook } from './AddressBook.js';
import type { Catalog } from './Catalog.js';
import type { ShippingRates } from './ShippingRates.js';
import { ID_PATTERN } from '../../common/keys.js';
import { addressInputSchema } from './AddressRules.js';
import { MAX_MINOR_UNITS } from './Currency.js';
import { MAX_RATES } from './ShippingRates.js';

const amount = z.number().int().min(0).max(MAX_MINOR_UNITS);

/** Request bodies of the shipping routes (the address body is AddressRules's: its faults are ADDRESS_INVALID). */
export const shippingSchemas = {
  address: addressInputSchema,
  addressId: z.string().regex(ID_PATTERN, 'must be a valid id'),
  /** A shop's whole rate table: per destination country or `*`, in the shop currency. */
  rates: z.object({
    rates: z.array(z.object({
      region: z.union([z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'), z.literal('*')]),
      amount,
      freeAbove: amount.nullable().optional(),
    }).strict()).max(MAX_RATES),
  }).strict(),
};

/** What the shipping routes use of the commerce service. */
export interface ShippingApiParts {
  catalog: Catalog;
  addresses: AddressBook;
  shipping: ShippingRates;
}

/**
 * The shipping HTTP API: a buyer's address book (`/v1/me/addresses`, actions me.read and
 * me.write: each buyer sees and changes only its own) and a shop's shipping rates
 * (`/v1/shops/{shop}/shipping-rates`, shop.write: the shop's seller or ops). Registered by
 * CommerceApi; errors are written by the router's one adapter.
 */
export class ShippingApi {
  readonly #parts: ShippingApiParts;

  constructor(parts: ShippingApiParts) {
    this.#parts = parts;
  }

  /** Adds the routes to the router. */
  register(router: HttpRouter): void {
    const { catalog, addresses, shipping } = this.#parts;
    const authorizeShop = async (req: ApiRequest) => req.authorize({ ownerUserId: (await catalog.getShop(req.params.shopId)).ownerUserId });

    router.add('GET', '/v1/me/addresses', 'me.read', async (req) => ({ status: 200, body: await addresses.list(req.authorize().userId) }));
    router.add('POST', '/v1/me/addresses', 'me.write', async (req) => {
      const p = req.authorize();
      // AddressRules checks the body (types, fields, the country's rules): 400 ADDRESS_INVALID naming the field.
      return { status: 201, body: await addresses.add(p.userId, req.body ?? {}) };
    });
    router.add('DELETE', '/v1/me/addresses/:addressId', 'me.write', async (req) => {
      await addresses.remove(req.authorize().userId, req.params.addressId);
      return { status: 204 };
    });

    router.add('PUT', '/v1/shops/:shopId/shipping-rates', 'shop.write', async (req) => {
      await authorizeShop(req);
      const b = shippingSchemas.rates.parse(req.body ?? {});
      const rates = b.rates.map((r) => ({ region: r.region, amount: r.amount, freeAbove: r.freeAbove ?? null }));
      return { status: 200, body: await shipping.replace(req.params.shopId, rates) };
    });
    router.add('GET', '/v1/shops/:shopId/shipping-rates', 'shop.write', async (req) => {
      await authorizeShop(req);
      return { status: 200, body: await shipping.list(req.params.shopId) };
    });
  }
}
