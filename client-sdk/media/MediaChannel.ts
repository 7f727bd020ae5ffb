import { flashcast } from '../../protocol/gen/flashcast.js';
import { ErrorCode } from '../../protocol/codes.js';
import { FlashcastRequestError } from '../errors.js';
import type { SessionChannel } from '../SessionChannel.js';

type MediaOp = Omit<flashcast.IMediaRequest, 'room'>;

/**
 * Media signaling of one room over the client's socket: requests (retried while
 * the room is being re-joined after a reconnect) and media events.
 */
export class MediaChannel {
  readonly roomId: string;
  readonly #session: SessionChannel;

  constructor(session: SessionChannel, roomId: string) {
    this.#session = session;
    this.roomId = roomId;
  }

  /** Sends one media request; resolves with the MediaResponse. */
  async request(op: MediaOp): Promise<flashcast.IMediaResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.#session.request({ media: { ...op, room: this.roomId } });
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

  /** Media events of this room pushed by the server (producer added/closed, layers changed). Returns an unsubscribe function. */
  onEvent(listener: (event: flashcast.IMediaEvent) => void): () => void {
    return this.#session.onMediaEvent((event) => {
      if (event.room === this.roomId) listener(event);
    });
  }

  /** Calls `listener(reconnected)` on every new session; returns an unsubscribe function. */
  onConnected(listener: (info: { reconnected: boolean }) => void): () => void {
    return this.#session.onSession(listener);
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
