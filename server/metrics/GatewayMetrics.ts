import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A queue's jobs by state and its oldest waiting job, read at scrape time (SettlementQueue's queues). */
export interface QueueBacklog {
  name: string;
  counts(): Promise<Record<string, number>>;
  /** When the oldest waiting job was added (ms), or null when none waits. */
  oldestWaitingAt(): Promise<number | null>;
}

/** Prometheus metrics of one gateway node, on a registry of its own. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: 'flashcast_connections', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly rooms = new Gauge({ name: 'flashcast_rooms', help: 'Rooms with members on this node', registers: [this.registry] });
  readonly framesIn = new Counter({
    name: 'flashcast_frames_in_total',
    help: 'Client frames received, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly framesOut = new Counter({
    name: 'flashcast_frames_out_total',
    help: 'Frames sent to clients (room publications count once per subscriber)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: 'flashcast_dropped_total',
    help: 'Droppable deliveries not made: chat sampled out in busy rooms, chat skipped for lagging viewers',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'flashcast_errors_total',
    help: 'Error replies sent, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly backpressureCloses = new Counter({
    name: 'flashcast_backpressure_closes_total',
    help: 'Connections closed as slow consumers',
    registers: [this.registry],
  });
  readonly laggingConnections = new Gauge({
    name: 'flashcast_lagging_connections',
    help: 'Connections currently excluded from droppable streams by backpressure',
    registers: [this.registry],
  });
  readonly fanoutLatency = new Histogram({
    name: 'flashcast_fanout_latency_seconds',
    help: 'From an event entering the system to this node publishing it to its sockets',
    labelNames: ['class'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: 'flashcast_batches_total',
    help: 'Messages packing several frames, published to room topics (once per publication, not per subscriber)',
    registers: [this.registry],
  });
  readonly batchedFrames = new Counter({
    name: 'flashcast_batched_frames_total',
    help: 'Frames sent inside batches (divided by flashcast_batches_total: frames per batch)',
    registers: [this.registry],
  });
  readonly gapFills = new Counter({
    name: 'flashcast_gap_fills_total',
    help: 'Critical-stream gaps this node filled from history',
    registers: [this.registry],
  });
  readonly buyLatency = new Histogram({
    name: 'flashcast_buy_latency_seconds',
    help: 'From a buy tap reaching this node to its answer (held, sold out, ...)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly buyResults = new Counter({
    name: 'flashcast_buy_results_total',
    help: 'Buy taps answered, by BuyResult code (OK when held)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  #queues: QueueBacklog[] = [];
  readonly settlementJobs = new Gauge({
    name: 'flashcast_settlement_jobs',
    help: 'Jobs of the settlement queues by state (waiting, active, delayed, failed), read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
    collect: async () => {
      this.settlementJobs.reset();
      for (const q of this.#queues) {
        const counts = await q.counts().catch(() => null);
        for (const [state, n] of Object.entries(counts ?? {})) this.settlementJobs.set({ queue: q.name, state }, n);
      }
    },
  });
  readonly settlementOldestWaiting = new Gauge({
    name: 'flashcast_settlement_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in each settlement queue (0 when none waits), read at scrape time',
    labelNames: ['queue'] as const,
    registers: [this.registry],
    collect: async () => {
      this.settlementOldestWaiting.reset();
      for (const q of this.#queues) {
        const at = await q.oldestWaitingAt().catch(() => null);
        this.settlementOldestWaiting.set({ queue: q.name }, at === null ? 0 : Math.max(0, Date.now() - at) / 1000);
      }
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'flashcast_process_' });
  }

  /** Reports these queues' backlog on /metrics (a node with commerce: the settlement queues). */
  watchQueues(queues: QueueBacklog[]): void {
    this.#queues = queues;
  }
}
