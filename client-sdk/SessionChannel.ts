import type { flashcast } from '../protocol/gen/flashcast.js';

/** How one request travels. */
export interface RequestOptions {
  /** Safe to send again after a reconnect (the server deduplicates it). */
  idempotent?: boolean;
  /** Runs synchronously on the reply, before any later frame is handled. */
  onReply?: (frame: flashcast.ServerFrame) => void;
  /** Send only on the current connection; never queue (joins manage themselves). */
  noQueue?: boolean;
}

/**
 * What a room and its media need from the connection: requests with replies,
 * frames without, who the session is, and the session's events. FlashcastClient
 * provides it; Room and media/* depend on this interface only, so dependencies
 * point one way (FlashcastClient -> Room -> media -> SessionChannel).
 */
export interface SessionChannel {
  /** Sends a request; resolves with the reply frame, rejects with a typed error (see errors.ts). */
  request(frame: flashcast.IClientFrame, options?: RequestOptions): Promise<flashcast.ServerFrame>;
  /** Sends a frame that needs no reply (dropped when not connected). */
  send(frame: flashcast.IClientFrame): void;
  /** The user of the current session ('' before the first connect). */
  userId(): string;
  /** Calls `listener` on every established session; returns an unsubscribe function. */
  onSession(listener: (info: { reconnected: boolean }) => void): () => void;
  /** Calls `listener` on every pushed media event; returns an unsubscribe function. */
  onMediaEvent(listener: (event: flashcast.IMediaEvent) => void): () => void;
}
