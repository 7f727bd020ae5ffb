/**
 * Sends order updates to a buyer's private channel in Redis, from any process (gateway or
 * settlement worker); UserChannels on the buyer's gateway delivers them to the buyer's sockets.
 */
import type { RedisClient } from '../../common/RedisConnections.js';
import { flashcast, encodeServerFrame } from '../../protocol/index.js';
import type { RedisKeys } from '../../common/keys.js';
import type { OrderNotifier, OrderUpdate } from './OrderNotifier.js';
import { userChannel } from './UserChannels.js';

const STATUS: Record<OrderUpdate['status'], flashcast.CheckoutStatus> = {
  paid: flashcast.CheckoutStatus.CHECKOUT_PAID,
  declined: flashcast.CheckoutStatus.CHECKOUT_FAILED,
  expired: flashcast.CheckoutStatus.CHECKOUT_FAILED,
  failed: flashcast.CheckoutStatus.CHECKOUT_FAILED,
};

/** Publishes order updates to the buyer's channel; used by settlement workers in any process. */
export class RedisOrderNotifier implements OrderNotifier {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async notify(userId: string, update: OrderUpdate): Promise<void> {
    const frame = encodeServerFrame({
      orderUpdate: {
        orderId: update.orderId,
        dealId: update.dealId,
        room: update.roomId,
        status: STATUS[update.status] ?? flashcast.CheckoutStatus.CHECKOUT_STATUS_UNSPECIFIED,
        code: update.code ?? '',
        message: update.message ?? '',
        retryAfterMs: update.retryAfterMs ?? 0,
      },
    });
    await this.redis.spublish(userChannel(this.keys, userId), Buffer.from(frame));
  }
}
