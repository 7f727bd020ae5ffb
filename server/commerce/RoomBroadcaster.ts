import type { flashcast } from '../../protocol/index.js';

/**
 * How commerce reaches a room. Implemented by the realtime gateway's RoomPublisher
 * (server/realtime/RoomPublisher.ts); commerce only depends on this role.
 */
export interface RoomBroadcaster {
  /**
   * Appends a critical RoomEvent (offset/epoch assigned by Redis) to the room's stream;
   * resolves to its offset (0 if it was an inventory update not newer than the stream's:
   * see `InventoryUpdate.version`). The room snapshot entry it updates follows from its kind.
   */
  publish(roomId: string, event: flashcast.IRoomEvent): Promise<number>;
  /**
   * Inventory, coalesced to at most 10 Hz per deal per room; the highest `version` wins, so
   * an update must carry the version its `available` was read or written with.
   */
  publishInventory(roomId: string, update: flashcast.IInventoryUpdate): void;
}
