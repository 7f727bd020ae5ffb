/**
 * A signed-in host (or moderator) in one room: the socket (FlashcastClient, joined to the
 * room: host controls, chat, moderation, the dashboard events) and the HTTP API (StudioApi),
 * both on the token. Built once per sign-in; `close()` closes the socket (the gateway drops its rooms).
 */
import { FlashcastClient } from '../../../client-sdk/FlashcastClient.js';
import { HttpChannel } from '../../../client-sdk/HttpChannel.js';
import { RoomEvent, type Room } from '../../../client-sdk/Room.js';
import { socketUrl, type WebConfig } from '../shared/ServerInfo.js';
import { tokenClaims, type PageToken } from '../shared/TokenSource.js';
import { StudioApi } from './StudioApi.js';

export interface StudioSessionOptions {
  origin: string;
  config: WebConfig;
  token: PageToken;
  roomId: string;
}

export class StudioSession {
  readonly origin: string;
  readonly config: WebConfig;
  readonly token: PageToken;
  readonly roomId: string;
  /** The display name (the token's `name`, else its user id). */
  readonly name: string;
  /** host: the whole studio; moderator: chat and moderation only. */
  readonly role: 'host' | 'moderator';
  readonly client: FlashcastClient;
  readonly room: Room;
  readonly api: StudioApi;
  #closed = false;

  private constructor(options: StudioSessionOptions, client: FlashcastClient, room: Room) {
    this.origin = options.origin;
    this.config = options.config;
    this.token = options.token;
    this.roomId = options.roomId;
    const claims = tokenClaims(options.token.token);
    this.name = claims.name ?? options.token.userId;
    this.role = claims.role === 'moderator' ? 'moderator' : 'host';
    this.client = client;
    this.room = room;
    this.api = new StudioApi(new HttpChannel({ baseUrl: options.origin, token: () => options.token.token, timeoutMs: 15_000 }), options.roomId);
  }

  /** The server's clock as the SDK estimates it (deal countdowns run on it). */
  get clock(): FlashcastClient['clock'] {
    return this.client.clock;
  }

  /** Connects the host's socket and joins the room. */
  static async create(options: StudioSessionOptions): Promise<StudioSession> {
    const client = new FlashcastClient({
      url: socketUrl(options.origin, options.config.wsPath),
      token: () => options.token.token,
      httpUrl: options.origin,
    });
    try {
      await client.connect();
      const room = await client.join(options.roomId);
      return new StudioSession(options, client, room);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  get userId(): string {
    return this.token.userId;
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
  }
}
