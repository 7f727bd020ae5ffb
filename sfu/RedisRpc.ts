import { randomBytes } from 'node:crypto';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { RedisConnections, type RedisClient } from '../common/RedisConnections.js';
import { FlashcastError, InternalError } from '../common/errors.js';
import { MediaUnavailableError } from './errors.js';

const log = logger('RedisRpc');

type Handler = (payload: Record<string, unknown>, from: string) => Promise<unknown> | unknown;

interface Envelope {
  /** Request id (0 = one-way push). */
  id: number;
  /** Reply address of the sender. */
  from: string;
  op?: string;
  payload?: Record<string, unknown>;
  /** Replies. */
  reply?: boolean;
  ok?: boolean;
  result?: unknown;
  error?: { code: string; message: string; status: number };
}

export type RedisRpcEvents = { close: [] };

/**
 * Request/response and one-way pushes between processes over sharded Redis pub/sub:
 * every process listens on `<prefix>:{sfu:<address>}:rpc` (its own slot on a cluster). Used
 * between gateways and SFU nodes, and between SFU nodes (cross-node pipes). Errors keep their
 * stable code across the hop. The media registry's keys (`key()`) share the `{sfu}` hash tag.
 */
export class RedisRpc extends EnhancedEventEmitter<RedisRpcEvents> {
  readonly address: string;
  readonly #prefix: string;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #handlers = new Map<string, Handler>();
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #closed = false;

  private constructor(prefix: string, address: string, pub: RedisClient, sub: RedisClient) {
    super();
    this.#prefix = prefix;
    this.address = address;
    this.#pub = pub;
    this.#sub = sub;
    sub.on('smessageBuffer', (_channel: Buffer, message: Buffer) => this.#onMessage(message));
  }

  /** Connects (two connections: commands, subscriber; one server or a cluster) and starts listening on `address`. */
  static async create(redisUrl: string, prefix: string, address = randomBytes(6).toString('hex')): Promise<RedisRpc> {
    const pub = RedisConnections.command(redisUrl, `fc-sfu-rpc-${address}`, { autoPipelining: false });
    const sub = RedisConnections.subscriber(redisUrl, `fc-sfu-rpcsub-${address}`);
    for (const c of [pub, sub]) c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis error'));
    const rpc = new RedisRpc(prefix, address, pub, sub);
    try {
      await sub.ssubscribe(rpc.#channel(address));
    } catch (error) {
      rpc.close();
      throw error;
    }
    return rpc;
  }

  /** The command connection (registry keys). */
  get redis(): RedisClient {
    return this.#pub;
  }

  /** A key of the media registry; all share one hash tag, so a transaction over them runs on a cluster. */
  key(suffix: string): string {
    return `${this.#prefix}:{sfu}:${suffix}`;
  }

  /** Answers `op` requests. */
  handle(op: string, handler: Handler): void {
    this.#handlers.set(op, handler);
  }

  /** Calls `op` on the process at `target`; rejects with its error (same code) or UNAVAILABLE on timeout. */
  call<T = unknown>(target: string, op: string, payload: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.#closed) return Promise.reject(new MediaUnavailableError('rpc closed'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new MediaUnavailableError(`media node ${target} did not answer ${op}`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#send(target, { id, from: this.address, op, payload }).catch((err) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err);
      });
    });
  }

  /** One-way message to `target`'s `op` handler. */
  push(target: string, op: string, payload: Record<string, unknown>): void {
    void this.#send(target, { id: 0, from: this.address, op, payload }).catch((err) => log.warn({ err: err.message, op }, 'push failed'));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new MediaUnavailableError('rpc closed'));
    }
    this.#pending.clear();
    this.#pub.disconnect();
    this.#sub.disconnect();
    this.safeEmit('close');
  }

  #channel(address: string): string {
    return `${this.#prefix}:{sfu:${address}}:rpc`;
  }

  async #send(target: string, envelope: Envelope): Promise<void> {
    await this.#pub.spublish(this.#channel(target), JSON.stringify(envelope));
  }

  #onMessage(message: Buffer): void {
    let env: Envelope;
    try {
      env = JSON.parse(message.toString('utf8')) as Envelope;
    } catch {
      return;
    }
    if (env.reply) {
      const pending = this.#pending.get(env.id);
      if (!pending) return;
      this.#pending.delete(env.id);
      clearTimeout(pending.timer);
      if (env.ok) pending.resolve(env.result);
      else pending.reject(new FlashcastError(env.error?.code ?? 'INTERNAL', env.error?.message ?? 'remote error', env.error?.status ?? 500));
      return;
    }
    const handler = env.op ? this.#handlers.get(env.op) : undefined;
    if (!handler) {
      if (env.id) void this.#send(env.from, { id: env.id, from: this.address, reply: true, ok: false, error: { code: 'UNKNOWN_MESSAGE', message: `no handler for ${env.op}`, status: 400 } });
      return;
    }
    Promise.resolve()
      .then(() => handler(env.payload ?? {}, env.from))
      .then(
        (result) => {
          if (env.id) return this.#send(env.from, { id: env.id, from: this.address, reply: true, ok: true, result });
        },
        (error: unknown) => {
          if (!(error instanceof FlashcastError)) log.error({ err: error, op: env.op }, 'rpc handler failed');
          const e = error instanceof FlashcastError ? error : new InternalError();
          if (env.id) return this.#send(env.from, { id: env.id, from: this.address, reply: true, ok: false, error: { code: e.code, message: e.message, status: e.status } });
        },
      )
      .catch((err) => log.warn({ err }, 'rpc reply failed'));
  }
}
