import type { OrderNotifier, OrderUpdate } from '../../../server/realtime/OrderNotifier.js';

/** An order update as received, loosely typed: the fault tests expect statuses the type may not list yet. */
export type ReceivedUpdate = Omit<OrderUpdate, 'status'> & { status: string; [field: string]: unknown };

/** Records every order update the settlement worker sends, per buyer. */
export class RecordingNotifier implements OrderNotifier {
  readonly updates: { userId: string; update: ReceivedUpdate }[] = [];

  notify(userId: string, update: OrderUpdate): void {
    this.updates.push({ userId, update: { ...update } as ReceivedUpdate });
  }

  /** The updates one buyer received, oldest first. */
  of(userId: string): ReceivedUpdate[] {
    return this.updates.filter((u) => u.userId === userId).map((u) => u.update);
  }
}
