import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import type { types } from './mediasoup.js';
import type { PoolWorker } from './WorkerPool.js';

/** Load a receive transport reserves before it has consumers (audio + video). */
const RESERVED_PER_VIEWER = 2;

export type RoomRouterEvents = {
  /** The router closed (room closed, or its worker died). */
  close: [];
};

/**
 * One router of a room on one worker, with its load: consumers carried plus
 * slots reserved by viewer transports that have not consumed yet (so a burst of
 * joins spreads before anyone consumes).
 */
export class RoomRouter extends EnhancedEventEmitter<RoomRouterEvents> {
  readonly router: types.Router;
  readonly poolWorker: PoolWorker;
  /** The router the room's producers live on (the others are fed through pipes). */
  readonly origin: boolean;
  /** Producers piped in here, by id (origin: none). */
  readonly pipeProducers = new Map<string, Promise<types.Producer>>();
  /** Consumers per receive transport. */
  readonly #viewers = new Map<string, number>();
  #consumers = 0;
  #closed = false;

  constructor(router: types.Router, poolWorker: PoolWorker, origin: boolean) {
    super();
    this.router = router;
    this.poolWorker = poolWorker;
    this.origin = origin;
    poolWorker.routers++;
    router.observer.once('close', () => this.#onClosed());
  }

  get id(): string {
    return this.router.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get consumers(): number {
    return this.#consumers;
  }

  /** Consumers plus reserved slots: what the consumer budget is checked against. */
  get load(): number {
    let reserved = 0;
    for (const n of this.#viewers.values()) if (n === 0) reserved += RESERVED_PER_VIEWER;
    return this.#consumers + reserved;
  }

  /** Counts a receive transport (reserving slots) until it closes. */
  trackTransport(transport: types.Transport): void {
    this.#viewers.set(transport.id, 0);
    transport.observer.once('close', () => this.#viewers.delete(transport.id));
  }

  /** Counts a consumer (here and on the worker) until it closes. */
  trackConsumer(transportId: string, consumer: types.Consumer): void {
    this.#consumers++;
    this.poolWorker.consumers++;
    if (this.#viewers.has(transportId)) this.#viewers.set(transportId, this.#viewers.get(transportId)! + 1);
    consumer.observer.once('close', () => {
      this.#consumers--;
      this.poolWorker.consumers--;
      const n = this.#viewers.get(transportId);
      if (n !== undefined) this.#viewers.set(transportId, Math.max(0, n - 1));
    });
  }

  /** Closes the router (and everything on it). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.router.close();
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.poolWorker.routers--;
    this.pipeProducers.clear();
    this.#viewers.clear();
    this.safeEmit('close');
  }
}
