import type { Address, AddressInput, AddressList, SavedAddress } from '../protocol/shipping.js';
import type { HttpChannel } from './HttpChannel.js';

export type { Address, AddressInput, AddressList, SavedAddress };

/**
 * The signed-in buyer's address book (`client.addresses()`): where orders ship. The first
 * address becomes the default; `room.buy({ addressId })` ships elsewhere. A refused address
 * rejects with FlashcastRequestError code ADDRESS_INVALID, `details` `{ field, reason, faults }`
 * (reasons: required, too_long, format, unknown_country, invalid), so the form can point at the
 * field in the shopper's language.
 */
export class Addresses {
  readonly #http: HttpChannel;

  /** @internal Built by FlashcastClient. */
  constructor(http: HttpChannel) {
    this.#http = http;
  }

  /** The buyer's addresses, oldest first, and the default's id. */
  list(): Promise<AddressList> {
    return this.#http.request<AddressList>('GET', '/v1/me/addresses');
  }

  /** Checks and saves an address; `default: true` makes it the default. Rejects with ADDRESS_INVALID or ADDRESS_BOOK_FULL. */
  add(address: AddressInput): Promise<SavedAddress> {
    return this.#http.request<SavedAddress>('POST', '/v1/me/addresses', address);
  }

  /** Removes an address (orders keep their copy). Rejects with ADDRESS_NOT_FOUND if the buyer has none by that id. */
  async remove(addressId: string): Promise<void> {
    await this.#http.request<void>('DELETE', `/v1/me/addresses/${encodeURIComponent(addressId)}`);
  }
}
