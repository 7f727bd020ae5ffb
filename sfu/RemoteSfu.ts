import { flashcast } from '../protocol/gen/flashcast.js';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { MediaUnavailableError } from './errors.js';
import { RedisRpc } from './RedisRpc.js';
import type { MediaBackend, MediaCaller } from './SfuService.js';
import { nodeAddress } from './SfuNode.js';
import { SfuRegistry, type SfuNodeInfo } from './SfuRegistry.js';

export interface RemoteSfuOptions {
  redisUrl: string;
  prefix: string;
  /** This gateway's RPC address (default: random). */
  address?: string;
  /** Consumers an SFU node carries for a room's viewers before new viewers go to another node. */
  nodeConsumerBudget?: number;
  /** A node silent for this long is out of rotation (default SfuRegistry's NODE_TIMEOUT_MS). */
  nodeTimeoutMs?: number;
  /** How often placements are checked against live nodes (default 1000 ms). */
  watchMs?: number;
}

export type RemoteSfuEvents = {
  notify: [string, flashcast.IMediaEvent];
  reconnect: [string, string];
  close: [];
};

/**
 * A gateway's view of separate SFU processes (`flashcast sfu`): the same
 * MediaBackend as an in-process SfuService, over Redis RPC. Places each
 * (session, room) on one node: hosts on the room's origin node (or the
 * least-loaded node, which then becomes the origin), viewers on the origin node
 * while it is under `nodeConsumerBudget`, else on the least-loaded other node,
 * which mirrors the room from the origin through a pipe.
 *
 * Watches its placements: a session placed on a node that stopped heartbeating is told to
 * reconnect (`reconnect`), and placed again on a live node when it comes back. A host so
 * moved publishes on a live node, which takes the room's origin over (see SfuNode).
 */
export class RemoteSfu extends EnhancedEventEmitter<RemoteSfuEvents> implements MediaBackend {
  readonly rpc: RedisRpc;
  readonly #budget: number;
  readonly #registry: SfuRegistry;
  readonly #watch: NodeJS.Timeout;
  /** `${sessionId}|${roomId}` → node id. */
  readonly placements = new Map<string, string>();
  #closed = false;

  private constructor(rpc: RedisRpc, options: RemoteSfuOptions) {
    super();
    this.rpc = rpc;
    this.#budget = options.nodeConsumerBudget ?? 400;
    this.#registry = new SfuRegistry(rpc, options.nodeTimeoutMs);
    this.#watch = setInterval(() => void this.#dropDeadPlacements(), options.watchMs ?? 1000);
    this.#watch.unref();
    rpc.handle('notify', (p) => {
      this.safeEmit('notify', String(p.sessionId), flashcast.MediaEvent.decode(Buffer.from(String(p.event), 'base64')));
    });
    rpc.handle('reconnect', (p) => {
      this.safeEmit('reconnect', String(p.sessionId), String(p.reason));
    });
  }

  static async create(options: RemoteSfuOptions): Promise<RemoteSfu> {
    const rpc = await RedisRpc.create(options.redisUrl, options.prefix, options.address ? `gw:${options.address}` : undefined);
    return new RemoteSfu(rpc, options);
  }

  /** Live SFU nodes with their load. */
  nodes(): Promise<SfuNodeInfo[]> {
    return this.#registry.live();
  }

  async handle(caller: MediaCaller, request: flashcast.MediaRequest): Promise<flashcast.IMediaResponse> {
    const roomId = request.room ?? '';
    const key = `${caller.sessionId}|${roomId}`;
    let node = this.placements.get(key);
    if (!node) {
      node = await this.#place(roomId, caller.canProduce);
      this.placements.set(key, node);
    }
    const reply = await this.rpc.call<{ response: string }>(nodeAddress(node), 'media', {
      caller,
      request: Buffer.from(flashcast.MediaRequest.encode(request).finish()).toString('base64'),
    });
    return flashcast.MediaResponse.decode(Buffer.from(reply.response, 'base64'));
  }

  /**
   * Of these rooms, those with an origin SFU node: a host opened a send transport there, and
   * while it publishes the node keeps the claim alive (SfuNode's heartbeat, 30 s).
   */
  async publishing(roomIds: readonly string[]): Promise<Set<string>> {
    if (roomIds.length === 0) return new Set();
    const pipeline = this.rpc.redis.pipeline();
    for (const roomId of roomIds) pipeline.exists(this.rpc.key(`origin:${roomId}`));
    const answers = (await pipeline.exec()) ?? [];
    return new Set(roomIds.filter((_, i) => answers[i]?.[1] === 1));
  }

  closeSession(sessionId: string): void {
    const nodes = new Set<string>();
    for (const [key, node] of this.placements) {
      if (key.startsWith(`${sessionId}|`)) {
        nodes.add(node);
        this.placements.delete(key);
      }
    }
    for (const node of nodes) this.rpc.push(nodeAddress(node), 'close-session', { sessionId });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watch);
    this.rpc.close();
    this.placements.clear();
    this.safeEmit('close');
  }

  /** Sessions placed on a dead node forget the placement and are told to reconnect. */
  async #dropDeadPlacements(): Promise<void> {
    if (this.#closed || this.placements.size === 0) return;
    let live: Set<string>;
    try {
      live = new Set((await this.nodes()).map((n) => n.nodeId));
    } catch {
      return; // Redis unreachable: nothing is known about the nodes, keep the placements.
    }
    const lost = new Set<string>();
    for (const [key, node] of this.placements) {
      if (live.has(node)) continue;
      this.placements.delete(key);
      lost.add(key.slice(0, key.indexOf('|')));
    }
    for (const sessionId of lost) this.safeEmit('reconnect', sessionId, 'SFU node lost');
  }

  async #place(roomId: string, host: boolean): Promise<string> {
    const nodes = await this.nodes();
    if (nodes.length === 0) throw new MediaUnavailableError('no SFU node available');
    const origin = await this.rpc.redis.get(this.rpc.key(`origin:${roomId}`));
    const originNode = nodes.find((n) => n.nodeId === origin);
    if (host) return originNode?.nodeId ?? nodes[0].nodeId;
    if (!originNode) return nodes[0].nodeId;
    if (originNode.consumers < this.#budget) return originNode.nodeId;
    return (nodes.find((n) => n.nodeId !== originNode.nodeId) ?? originNode).nodeId;
  }
}
