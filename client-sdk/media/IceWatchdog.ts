import type { types } from 'mediasoup-client';
import type { MediaChannel } from './MediaChannel.js';

/** What the watchdog needs from the publisher or viewer it guards. */
export interface IceWatchdogHooks {
  /** The transport the owner uses now (older ones are ignored). */
  current(): types.Transport | null;
  /** The owner is stopped: do nothing. */
  stopped(): boolean;
  recovering(): void;
  recovered(): void;
  /** ICE restart did not help: rebuild the media from scratch. */
  restart(): void;
  error(error: Error): void;
}

/** Grace before an ICE restart after `disconnected` (a blip often heals by itself). */
const BLIP_GRACE_MS = 1500;
/** How long an ICE restart gets before a full restart. */
const ICE_RESTART_WINDOW_MS = 8000;

/**
 * Network-blip recovery for one side of the media plane: on `disconnected` it
 * waits a moment, then restarts ICE (new server ICE parameters over the socket);
 * if the transport still is not connected after that, the owner restarts fully.
 */
export class IceWatchdog {
  readonly #channel: MediaChannel;
  readonly #hooks: IceWatchdogHooks;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(channel: MediaChannel, hooks: IceWatchdogHooks) {
    this.#channel = channel;
    this.#hooks = hooks;
  }

  /** Follows a transport's connection state. */
  watch(transport: types.Transport): void {
    transport.on('connectionstatechange', (state) => this.#onState(transport, state));
  }

  /** Cancels a pending restart. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onState(transport: types.Transport, state: types.ConnectionState): void {
    if (transport !== this.#hooks.current() || this.#hooks.stopped()) return;
    if (state === 'connected') {
      this.clear();
      this.#hooks.recovered();
      return;
    }
    if (state === 'disconnected' || state === 'failed') {
      this.#hooks.recovering();
      if (this.#timer) return;
      this.#timer = setTimeout(() => void this.#restartIce(transport), state === 'failed' ? 0 : BLIP_GRACE_MS);
    }
  }

  async #restartIce(transport: types.Transport): Promise<void> {
    try {
      const reply = await this.#channel.request({ restartIce: { transportId: transport.id } });
      await transport.restartIce({ iceParameters: JSON.parse(reply.iceParametersJson!) });
    } catch (error) {
      this.#hooks.error(error as Error);
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (transport === this.#hooks.current() && transport.connectionState !== 'connected') this.#hooks.restart();
    }, ICE_RESTART_WINDOW_MS);
  }
}
