/**
 * The publisher of the broadcast benchmark: one connection that sends the
 * benchmark's messages to the server under test, which fans each out to the room.
 */
export interface Publisher {
  /** Sends message number `seq` (the caller has recorded its send time). */
  publish(seq: number): void;
  /** Messages handed to the socket. */
  readonly sent: number;
  /**
   * Messages the server confirmed it published (servers without acknowledgements
   * confirm by having received them: equal to `sent`).
   */
  readonly acked: number;
  /** Publish errors by code (e.g. RATE_LIMITED), for servers that report them. */
  readonly errors: ReadonlyMap<string, number>;
  /** Resolves when every sent message is acked or refused, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
  /** Closes the connection. Idempotent. */
  close(): Promise<void>;
}
