/**
 * The shapes of the address book over HTTP (`/v1/me/addresses`), shared by the server and the
 * SDK, and the stable reasons an address is refused with (`ADDRESS_INVALID`, `details`).
 * See docs/shipping.md.
 */

/** The fields of an address, as a buyer sends them (`POST /v1/me/addresses`). */
export interface AddressInput {
  /** The recipient. */
  name: string;
  /** E.164, e.g. "+6281234567890" (spaces, dots, dashes and brackets are dropped first). */
  phone: string;
  line1: string;
  line2?: string;
  /** District, kecamatan, barangay... where the country uses one. */
  district?: string;
  /** City, town or municipality (required in most countries). */
  city?: string;
  /** State, province or prefecture (required where the country's rules say so). */
  state?: string;
  /** Checked against the country's pattern; required where the country's rules say so. */
  postalCode?: string;
  /** ISO 3166-1 alpha-2, e.g. "ID". */
  country: string;
  /** Make it the default address (the first address always is). */
  default?: boolean;
}

/** An address as stored, and the copy an order keeps (`shipping_address`). */
export interface Address {
  id: string;
  name: string;
  phone: string;
  line1: string;
  line2: string | null;
  district: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string;
}

/** One entry of the buyer's address book. */
export interface SavedAddress extends Address {
  isDefault: boolean;
  createdAt: string;
}

/** `GET /v1/me/addresses`. */
export interface AddressList {
  addresses: SavedAddress[];
  defaultAddressId: string | null;
}

/** The fields an address is checked field by field on (the `field` of a fault). */
export const ADDRESS_FIELDS = ['name', 'phone', 'line1', 'line2', 'district', 'city', 'state', 'postalCode', 'country', 'default'] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];

/**
 * Why a field was refused: `required` (missing or empty once cleaned), `too_long`, `format`
 * (postal code, phone, state code), `unknown_country` (not ISO 3166-1 alpha-2), `invalid` (not
 * a string, or a field that does not exist).
 */
export const ADDRESS_FAULTS = ['required', 'too_long', 'format', 'unknown_country', 'invalid'] as const;
export type AddressFaultReason = (typeof ADDRESS_FAULTS)[number];

/** One refused field; `ADDRESS_INVALID` carries `{ field, reason, faults }` (the first fault, then all). */
export interface AddressFault {
  field: AddressField | string;
  reason: AddressFaultReason;
}
