import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { TokenBucket } from '../common/TokenBucket.js';
import type { types } from './mediasoup.js';
import type { RoomRouter } from './RoomRouter.js';
import type { SfuRoom } from './SfuRoom.js';
import { flashcast } from '../protocol/gen/flashcast.js';

/** A transport owned by a session. */
export interface SessionTransport {
  readonly transport: types.WebRtcTransport;
  readonly room: SfuRoom;
  readonly router: RoomRouter;
  readonly direction: 'send' | 'recv';
  connected: boolean;
}

/** A consumer owned by a session, with its quality mode. */
export interface SessionConsumer {
  readonly consumer: types.Consumer;
  readonly roomId: string;
  quality: flashcast.MediaQuality;
}

export type MediaSessionEvents = {
  close: [];
};

/**
 * The media resources of one client session (one WebSocket): its transports and
 * the producers and consumers on them, and its rate limit. Closing it closes
 * them all.
 */
export class MediaSession extends EnhancedEventEmitter<MediaSessionEvents> {
  readonly sessionId: string;
  readonly userId: string;
  readonly transports = new Map<string, SessionTransport>();
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, SessionConsumer>();
  /** Transport creations. */
  readonly creations: TokenBucket;
  /** Transports being created (counted against the limit). */
  creating = 0;
  #closed = false;

  constructor(sessionId: string, userId: string, transportsPerSecond: number) {
    super();
    this.sessionId = sessionId;
    this.userId = userId;
    this.creations = new TokenBucket(transportsPerSecond, transportsPerSecond * 2);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Rooms this session has media in. */
  roomIds(): Set<string> {
    return new Set([...this.transports.values()].map((t) => t.room.id));
  }

  addTransport(entry: SessionTransport): void {
    this.transports.set(entry.transport.id, entry);
    entry.transport.observer.once('close', () => this.transports.delete(entry.transport.id));
  }

  addProducer(producer: types.Producer): void {
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
  }

  addConsumer(entry: SessionConsumer): void {
    this.consumers.set(entry.consumer.id, entry);
    entry.consumer.observer.once('close', () => this.consumers.delete(entry.consumer.id));
  }

  /** Closes the transports of one room (and their producers and consumers). */
  closeRoom(roomId: string): void {
    for (const t of [...this.transports.values()]) if (t.room.id === roomId) t.transport.close();
  }

  /** Closes everything this session owns. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of [...this.transports.values()]) t.transport.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.safeEmit('close');
  }
}
