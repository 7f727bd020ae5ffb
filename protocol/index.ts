/**
 * The Flashcast wire protocol: generated protobuf codecs plus the stable codes.
 * Generated from protocol/flashcast.proto by `npm run proto`.
 */
import { flashcast } from './gen/flashcast.js';

export { flashcast };
export * from './codes.js';
export * from './shipping.js';
export * from './currency.js';
export { decodeServerFrames, encodeServerBatch, forEachServerFrame } from './batch.js';

export const ClientFrame = flashcast.ClientFrame;
export const ServerFrame = flashcast.ServerFrame;
export const RoomEvent = flashcast.RoomEvent;
export const Role = flashcast.Role;
export const ModerationAction = flashcast.ModerationAction;
export const ReactionKind = flashcast.ReactionKind;
export const RoomPhase = flashcast.RoomPhase;
export const DealPhase = flashcast.DealPhase;
export const LeftReason = flashcast.LeftReason;

export type IClientFrame = flashcast.IClientFrame;
export type IServerFrame = flashcast.IServerFrame;
export type IRoomEvent = flashcast.IRoomEvent;
export type IRoomSnapshot = flashcast.IRoomSnapshot;
export type IRoomStats = flashcast.IRoomStats;
export type IChatMessage = flashcast.IChatMessage;
export type IProductCard = flashcast.IProductCard;
export type IInventoryUpdate = flashcast.IInventoryUpdate;
export type IPurchaseEvent = flashcast.IPurchaseEvent;
export type IModerationEvent = flashcast.IModerationEvent;
export type IRoomState = flashcast.IRoomState;
export type IJoined = flashcast.IJoined;
export type IError = flashcast.IError;
export type IMoney = flashcast.IMoney;

/** Role names as they appear in tokens and HTTP APIs. */
export type RoleName = 'viewer' | 'host' | 'moderator' | 'ops' | 'seller';

/** Every role name, in the order of the Role enum. */
export const ROLE_NAMES: readonly RoleName[] = ['viewer', 'host', 'moderator', 'ops', 'seller'];

export const ROLE_BY_NAME: Record<RoleName, flashcast.Role> = {
  viewer: flashcast.Role.VIEWER,
  host: flashcast.Role.HOST,
  moderator: flashcast.Role.MODERATOR,
  ops: flashcast.Role.OPS,
  seller: flashcast.Role.SELLER,
};

/** Encodes a server frame; `v` defaults to the current protocol version. */
export function encodeServerFrame(frame: flashcast.IServerFrame): Uint8Array {
  if (frame.v === undefined) frame.v = 1;
  return flashcast.ServerFrame.encode(frame).finish();
}

/** Encodes a client frame; `v` defaults to the current protocol version. */
export function encodeClientFrame(frame: flashcast.IClientFrame): Uint8Array {
  if (frame.v === undefined) frame.v = 1;
  return flashcast.ClientFrame.encode(frame).finish();
}

/** Decodes one ServerFrame as it is (a batch stays a batch: clients use decodeServerFrames). */
export function decodeServerFrame(bytes: Uint8Array): flashcast.ServerFrame {
  return flashcast.ServerFrame.decode(bytes);
}

export function decodeClientFrame(bytes: Uint8Array): flashcast.ClientFrame {
  return flashcast.ClientFrame.decode(bytes);
}
