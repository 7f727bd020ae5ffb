import type { Publisher } from './Publisher.js';

/** One stream of messages sent at a fixed rate. */
export interface PacedStream {
  rate: number;
  publisher: Publisher;
  /** First sequence number (a publisher reused across windows must not repeat its client ids). */
  base?: number;
  /** Called with each sequence number just before it is sent. */
  onSend?: (seq: number) => void;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Open-loop publishing on several streams at once, each on its own schedule from a common start:
 * a message late against its schedule is sent as soon as possible, nothing is skipped.
 */
export class PacedPublishing {
  /** Sends `rate x seconds` messages on each stream; resolves when the last one is sent. */
  static async run(streams: PacedStream[], seconds: number, start = now()): Promise<void> {
    const totals = streams.map((s) => Math.round(s.rate * seconds));
    const next = streams.map(() => 0);
    for (;;) {
      let due = Infinity;
      const t = now();
      streams.forEach((s, i) => {
        while (next[i] < totals[i] && start + (next[i] * 1000) / s.rate <= t) {
          const seq = (s.base ?? 0) + next[i];
          s.onSend?.(seq);
          s.publisher.publish(seq);
          next[i]++;
        }
        if (next[i] < totals[i]) due = Math.min(due, start + (next[i] * 1000) / s.rate);
      });
      if (due === Infinity) return;
      await new Promise((r) => setTimeout(r, Math.max(1, due - now())));
    }
  }
}
