import { z } from 'zod';
import type { ApiRequest, HttpRouter } from '../../common/http/HttpRouter.js';
import type { AddressBook } from './AddressBook.js';
import type { Catalog } from './Catalog.js';
import type { ShippingRates } from './ShippingRates.js';
import { ID_PATTERN } from '../../common/keys.js';
import { addressInputSchema } from './AddressRules.js';
import { MAX_MINOR_UNITS } from './Currency.js';
import { MAX_RATES } from './ShippingRates.js';
import { apiSchema } from '../../common/http/apiSchema.js';

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

const rateSchema = z.object({ region: z.string(), amount: z.number().int(), freeAbove: z.number().int().nullable() }).passthrough();
/** A shop's shipping-rate table as the API answers it. */
export const ShippingRatesSchema = apiSchema('ShippingRates', z.object({ shopId: z.string(), currency: z.string(), rates: z.array(rateSchema) }).passthrough());
/** One entry of a buyer's address book. */
export const SavedAddressSchema = apiSchema('SavedAddress', z.object({
  id: z.string(), name: z.string(), phone: z.string(), line1: z.string(), line2: z.string().nullable(), district: z.string().nullable(),
  city: z.string().nullable(), state: z.string().nullable(), postalCode: z.string().nullable(), country: z.string(), isDefault: z.boolean(),
  createdAt: z.string(),
}).strict());
/** `GET /v1/me/addresses`. */
export const AddressListSchema = apiSchema('AddressList', z.object({ addresses: z.array(SavedAddressSchema), defaultAddressId: z.string().nullable() }).strict());

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

    router.add('GET', '/v1/me/addresses', 'me.read', {
      summary: 'The buyer\'s address book', tag: 'shipping', responses: { 200: AddressListSchema },
    }, async (req) => ({ status: 200, body: await addresses.list(req.authorize().userId) }));
    router.add('POST', '/v1/me/addresses', 'me.write', {
      summary: 'Add an address (checked against the country\'s rules: 400 ADDRESS_INVALID names the field)', tag: 'shipping',
      responses: { 201: SavedAddressSchema }, errors: { 400: 'ADDRESS_INVALID: a field breaks the country\'s rules (details.field, details.reason)' },
    }, async (req) => {
      const p = req.authorize();
      // AddressRules checks the body (types, fields, the country's rules): 400 ADDRESS_INVALID naming the field.
      return { status: 201, body: await addresses.add(p.userId, req.body ?? {}) };
    });
    router.add('DELETE', '/v1/me/addresses/:addressId', 'me.write', {
      summary: 'Remove an address', tag: 'shipping', responses: { 204: null },
    }, async (req) => {
      await addresses.remove(req.authorize().userId, req.params.addressId);
      return { status: 204 };
    });

    router.add('PUT', '/v1/shops/:shopId/shipping-rates', 'shop.write', {
      summary: 'Replace the shop\'s shipping rates (per destination country or *, in the shop currency)', tag: 'shipping',
      body: shippingSchemas.rates, responses: { 200: ShippingRatesSchema },
    }, async (req) => {
      await authorizeShop(req);
      const b = req.body;
      const rates = b.rates.map((r) => ({ region: r.region, amount: r.amount, freeAbove: r.freeAbove ?? null }));
      return { status: 200, body: await shipping.replace(req.params.shopId, rates) };
    });
    router.add('GET', '/v1/shops/:shopId/shipping-rates', 'shop.write', {
      summary: 'The shop\'s shipping rates', tag: 'shipping', responses: { 200: ShippingRatesSchema },
    }, async (req) => {
      await authorizeShop(req);
      return { status: 200, body: await shipping.list(req.params.shopId) };
    });
  }
}
