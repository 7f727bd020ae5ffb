/** What a reconnect policy is told before each retry. */
export interface ReconnectContext {
  /** Retries already made since the connection was lost (0 before the first retry). */
  retryCount: number;
  /** Time since the connection was lost (or since connect() for a first connect), ms. */
  elapsedMs: number;
  /** Close code of the last failure, when there was one (see CloseCode, isReconnectCode). */
  closeCode?: number;
  /** Reason of the last failure, when known. */
  reason?: string;
}

/**
 * Decides whether and when the client retries after a connection it may
 * reconnect was lost (a "reconnect" close code or a network loss; terminal
 * codes never reach the policy). As LiveKit's `ReconnectPolicy`.
 */
export interface ReconnectPolicy {
  /**
   * The delay before the next attempt, ms, or `null` to stop: the client then
   * closes for good and reports a terminal disconnect (`willReconnect: false`).
   */
  nextRetryDelay(context: ReconnectContext): number | null;
}
