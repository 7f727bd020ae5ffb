import { Gauge, type Registry } from 'prom-client';
import type { SfuService } from './SfuService.js';

/**
 * Prometheus gauges of a media plane, computed at scrape time: per room bitrate
 * in and consumers per layer; per worker consumers, routers and CPU.
 */
export class SfuMetrics {
  readonly #registers: Registry[];
  readonly #gauges: Gauge[] = [];
  readonly #lastCpu = new Map<number, { cpuMs: number; at: number }>();

  constructor(sfu: SfuService, registers: Registry[]) {
    this.#registers = registers;
    const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void> | void) => {
      const g: Gauge = new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          g.reset();
          await collect(g);
        },
      });
      this.#gauges.push(g);
    };
    gauge('flashcast_sfu_room_bitrate_in_bps', 'Bitrate received from the room\'s producers (bits/s)', ['room', 'kind'], async (g) => {
      for (const room of await sfu.rooms()) {
        const byKind = new Map<string, number>();
        for (const p of room.producers.values()) {
          const stats = await p.producer.getStats().catch(() => []);
          byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + stats.reduce((n, s) => n + (s.bitrate ?? 0), 0));
        }
        for (const [kind, bps] of byKind) g.set({ room: room.id, kind }, bps);
      }
    });
    gauge('flashcast_sfu_room_consumers', 'Consumers of the room by current spatial layer (audio, or -1 when none is forwarded)', ['room', 'layer'], async (g) => {
      for (const room of await sfu.rooms()) {
        const counts = new Map<string, number>();
        for (const session of sfu.sessions.values()) {
          for (const c of session.consumers.values()) {
            if (c.roomId !== room.id) continue;
            const layer = c.consumer.kind === 'audio' ? 'audio' : String(c.consumer.currentLayers?.spatialLayer ?? -1);
            counts.set(layer, (counts.get(layer) ?? 0) + 1);
          }
        }
        for (const [layer, n] of counts) g.set({ room: room.id, layer }, n);
      }
    });
    gauge('flashcast_sfu_room_routers', 'Routers (one per worker used) carrying the room', ['room'], async (g) => {
      for (const room of await sfu.rooms()) g.set({ room: room.id }, room.routers.length);
    });
    gauge('flashcast_sfu_worker_consumers', 'Consumers on each mediasoup worker', ['worker'], (g) => {
      for (const w of sfu.pool.workers) g.set({ worker: String(w.index) }, w.consumers);
    });
    gauge('flashcast_sfu_worker_routers', 'Routers on each mediasoup worker', ['worker'], (g) => {
      for (const w of sfu.pool.workers) g.set({ worker: String(w.index) }, w.routers);
    });
    gauge('flashcast_sfu_worker_cpu_pct', 'CPU of each mediasoup worker since the previous scrape (% of one core)', ['worker'], async (g) => {
      const now = Date.now();
      for (const t of await sfu.pool.cpuTimes().catch(() => [])) {
        const last = this.#lastCpu.get(t.pid);
        this.#lastCpu.set(t.pid, { cpuMs: t.cpuMs, at: now });
        if (last && now > last.at) g.set({ worker: String(t.index) }, (100 * (t.cpuMs - last.cpuMs)) / (now - last.at));
      }
    });
    gauge('flashcast_sfu_sessions', 'Client sessions with media', [], (g) => {
      g.set(sfu.sessions.size);
    });
  }

  /** Removes the gauges from their registries. */
  close(): void {
    for (const g of this.#gauges) for (const r of this.#registers) r.removeSingleMetric((g as unknown as { name: string }).name);
    this.#gauges.length = 0;
  }
}
