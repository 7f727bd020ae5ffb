import { EventEmitter } from 'node:events';
import { logger } from './logger.js';

const log = logger('EnhancedEventEmitter');

/** Map of event name to listener argument tuple: `{ close: []; viewerjoined: [Viewer] }`. */
export type EventMap = Record<string, unknown[]>;

/**
 * A typed EventEmitter. `safeEmit` never throws: a listener's error is logged and the
 * remaining listeners still run (as mediasoup's enhancedEvents).
 */
export class EnhancedEventEmitter<E extends EventMap = EventMap> extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(Infinity);
  }

  override emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return super.emit(event, ...args);
  }

  /** Emits, catching and logging any listener error. */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.rawListeners(event) as ((...a: E[K]) => void)[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        log.error({ err: error, event }, 'listener threw');
      }
    }
    return listeners.length > 0;
  }

  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
}
