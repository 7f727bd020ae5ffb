/**
 * Flashcast client SDK (browsers and Node): connect, join rooms, chat, react,
 * follow pins, stock and purchases, host controls. See README "The SDK".
 *
 *   const client = new FlashcastClient({ url: 'wss://live.example.com/ws', token });
 *   await client.connect();
 *   const room = await client.join('room-42');
 *   room.on(RoomEvent.Inventory, (inv) => render(inv));
 */
export { FlashcastClient, ClientEvent } from './FlashcastClient.js';
export type { ClientOptions, ConnectionState, WebSocketConstructor, WebSocketLike, ClientEvents } from './FlashcastClient.js';
export type { ReconnectPolicy, ReconnectContext } from './ReconnectPolicy.js';
export { DefaultReconnectPolicy } from './DefaultReconnectPolicy.js';
export type { DefaultReconnectPolicyOptions } from './DefaultReconnectPolicy.js';
export type { SessionChannel, RequestOptions } from './SessionChannel.js';
export { Room, RoomEvent } from './Room.js';
export type { RoomState, RoomEvents, JoinOptions, BuyRequest } from './Room.js';
export { FlashcastRequestError, RequestTimeoutError, ConnectionClosedError } from './errors.js';
export { nextStepOf, buyResultOf, paymentActionOf } from './checkout.js';
export type {
  BuyResult, NextStep, ConfirmPaymentStep, ProviderStep, UnknownStep, ConfirmPaymentRequest, PaymentAction, PaymentMethod,
  InstalmentOption, InstalmentDue, Money, Order, OrderPaymentStep,
} from './checkout.js';
export { Backoff } from './Backoff.js';
export { ServerClock } from './ServerClock.js';
export type { ServerClockOptions } from './ServerClock.js';
export { Addresses } from './Addresses.js';
export type { Address, AddressInput, AddressList, SavedAddress } from './Addresses.js';
export { HttpChannel, httpBaseUrl } from './HttpChannel.js';
export type { FetchLike, HttpChannelOptions } from './HttpChannel.js';
export { ADDRESS_FAULTS, ADDRESS_FIELDS } from '../protocol/shipping.js';
export { CURRENCY_EXPONENTS, formatMoney, isKnownCurrency } from '../protocol/currency.js';
export type { AddressFault, AddressFaultReason, AddressField } from '../protocol/shipping.js';
export { flashcast } from '../protocol/gen/flashcast.js';
export {
  CloseCode,
  ErrorCode,
  CommerceErrorCode,
  BuyResultCode,
  SettlementErrorCode,
  SfuErrorCode,
  WebhookErrorCode,
  NextStepCode,
  isReconnectCode,
} from '../protocol/codes.js';
// Media classes load on first room.publish / room.watch (mediasoup-client stays out of Node bundles).
export type { Publisher, Viewer, PublishOptions, WatchOptions, WatchQuality, MediaState } from './media/index.js';
