import { flashcast } from '../../protocol/gen/flashcast.js';
import { ErrorCode } from '../../protocol/codes.js';
import { FlashcastRequestError } from '../errors.js';
import { ClientEvent, type FlashcastClient } from '../FlashcastClient.js';

type Listener = (event: flashcast.IMediaEvent) => void;
type MediaOp = Omit<flashcast.IMediaRequest, 'room'>;

/**
 * Media signaling of one room over the client's socket: requests (retried while
 * the room is being re-joined after a reconnect) and media events.
 */
export class MediaChannel {
  readonly client: FlashcastClient;
  readonly roomId: string;

  constructor(client: FlashcastClient, roomId: string) {
    this.client = client;
    this.roomId = roomId;
  }

  /** Sends one media request; resolves with the MediaResponse. */
  async request(op: MediaOp): Promise<flashcast.IMediaResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.client.request({ media: { ...op, room: this.roomId } });
        if (!reply.media) throw new FlashcastRequestError(ErrorCode.Internal, 'unexpected reply');
        return reply.media;
      } catch (error) {
        // Right after a reconnect the room may not be re-joined yet.
        const code = error instanceof FlashcastRequestError ? error.code : '';
        if ((code === ErrorCode.NotJoined || code === ErrorCode.Unavailable) && attempt < 20) {
          await sleep(150 * (attempt + 1));
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * Media events pushed by the server (producer added/closed, layers changed),
   * when the client surfaces them ('mediaevent'). Returns an unsubscribe function.
   */
  onEvent(listener: Listener): () => void {
    const emitter = this.client as unknown as { on(e: string, l: Listener): void; off(e: string, l: Listener): void };
    const filtered: Listener = (event) => {
      if (event.room === this.roomId) listener(event);
    };
    emitter.on('mediaevent', filtered);
    return () => emitter.off('mediaevent', filtered);
  }

  /** Calls `listener(reconnected)` on every new session; returns an unsubscribe function. */
  onConnected(listener: (info: { reconnected: boolean }) => void): () => void {
    this.client.on(ClientEvent.Connected, listener);
    return () => this.client.off(ClientEvent.Connected, listener);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` until it succeeds or `stopped()` turns true, reporting each
 * failure and backing off 300 ms, 600 ms, ... up to 5 s between tries (the full
 * media restart of a publisher or viewer).
 */
export async function retryUntilStopped(
  stopped: () => boolean,
  attempt: () => Promise<void>,
  onError: (error: Error) => void,
): Promise<void> {
  for (let n = 0; !stopped(); n++) {
    try {
      await attempt();
      return;
    } catch (error) {
      onError(error as Error);
      await sleep(Math.min(5000, 300 * 2 ** n));
    }
  }
}
