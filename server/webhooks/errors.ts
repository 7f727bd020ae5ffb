import { WebhookErrorCode } from '../../protocol/codes.js';
import { FlashcastError } from '../../common/errors.js';

/** Stable codes of the webhooks part (defined in protocol/codes.ts, exported by the SDK). */
export { WebhookErrorCode };

/** No such endpoint in the shop (never, or deleted). */
export class WebhookEndpointNotFoundError extends FlashcastError {
  constructor() {
    super(WebhookErrorCode.EndpointNotFound, 'webhook endpoint not found', 404);
  }
}

/** The shop has `max` endpoints already. */
export class WebhookEndpointLimitError extends FlashcastError {
  constructor(max: number) {
    super(WebhookErrorCode.EndpointLimit, `a shop has at most ${max} webhook endpoints`, 409);
  }
}

/** The URL may not receive deliveries (credentials in it, or a private address while those are refused). */
export class WebhookUrlRefusedError extends FlashcastError {
  constructor(message: string) {
    super(WebhookErrorCode.UrlRefused, message, 400);
  }
}

/** No such delivery. */
export class WebhookDeliveryNotFoundError extends FlashcastError {
  constructor() {
    super(WebhookErrorCode.DeliveryNotFound, 'webhook delivery not found', 404);
  }
}

/** The delivery is still pending or retrying: it cannot be replayed yet. */
export class WebhookDeliveryActiveError extends FlashcastError {
  constructor(status: string) {
    super(WebhookErrorCode.DeliveryActive, `the delivery is ${status}: replay it once it has succeeded or failed`, 409);
  }
}
