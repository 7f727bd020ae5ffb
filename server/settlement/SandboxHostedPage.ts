import type { ApiResponse, HttpRouter } from '../../common/http/HttpRouter.js';
import type { BuyerAction } from './SandboxSessions.js';
import type { SandboxPaymentProvider, SignedNotification } from './SandboxPaymentProvider.js';
import { SandboxPageView } from './SandboxPageView.js';
import { logger } from '../../common/logger.js';

const log = logger('SandboxHostedPage');

/** Sends a signed notification to the notification route; resolves to the HTTP status answered. */
export type NotificationSender = (notification: SignedNotification) => Promise<number>;

/** Deliveries of one notification before giving up (a real provider keeps retrying for days). */
const DELIVERY_ATTEMPTS = 4;

/**
 * The sandbox provider's hosted payment page, served by the server at
 * `/v1/payments/sandbox/pay/{session}` (action `payment.page`, public: the unguessable session
 * id is the capability, as on a real provider's page). GET shows the step; POST takes the
 * buyer's card number, 3-D Secure answer or approval. When the payment ends (or the buyer first
 * opens the step: "pending"), the sandbox sends its signed notification server-side through
 * `send`, the same request a real provider makes to `/v1/payments/sandbox/notifications`.
 */
export class SandboxHostedPage {
  readonly #provider: SandboxPaymentProvider;
  readonly #send: NotificationSender;

  constructor(provider: SandboxPaymentProvider, send: NotificationSender) {
    this.#provider = provider;
    this.#send = send;
  }

  /** The sender that hands a notification to the router's notification route in this process. */
  static routerSender(router: HttpRouter): NotificationSender {
    return async (n) => (await router.dispatch({
      method: 'POST', path: '/v1/payments/sandbox/notifications', headers: n.headers, text: n.rawBody, remoteAddress: 'sandbox',
    })).status;
  }

  /** Adds the page's routes to the router. */
  register(router: HttpRouter): void {
    router.add('GET', '/v1/payments/sandbox/pay/:sessionId', 'payment.page', {
      summary: 'The sandbox provider\'s hosted payment page (test cards, 3-D Secure, BNPL approval)', tag: 'payments',
      responses: { 200: { contentType: 'text/html', description: 'the page' } }, errors: { 404: 'no such payment session (an HTML page)' },
    }, async (req) => {
      const session = await this.#provider.session(req.params.sessionId);
      if (!session) return html(404, SandboxPageView.notFound());
      const pending = await this.#provider.viewed(session.id);
      if (pending) await this.#deliver(pending);
      return html(200, SandboxPageView.render(session));
    });
    router.add('POST', '/v1/payments/sandbox/pay/:sessionId', 'payment.page', {
      summary: 'The buyer\'s choice on the sandbox\'s hosted page (a card, a 3-D Secure answer, a BNPL approval)', tag: 'payments',
      bodyType: 'application/x-www-form-urlencoded',
      responses: { 200: { contentType: 'text/html', description: 'the page after the choice' } },
      errors: { 400: 'no or an unknown choice (an HTML page)', 404: 'no such payment session (an HTML page)' },
    }, async (req) => {
      const action = parseAction(req.rawBody ?? '');
      const session = await this.#provider.session(req.params.sessionId);
      if (!session) return html(404, SandboxPageView.notFound());
      if (!action) return html(400, SandboxPageView.render(session, 'Choose an option.'));
      const acted = await this.#provider.act(session.id, action);
      if (!acted) return html(404, SandboxPageView.notFound());
      if (acted.notification) await this.#deliver(acted.notification);
      return html(acted.result.error ? 400 : 200, SandboxPageView.render(acted.result.session, acted.result.error));
    });
  }

  /** Sends a notification, retrying while the merchant answers 5xx or 404 (not ready yet). */
  async #deliver(n: SignedNotification): Promise<void> {
    for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
      let status = 0;
      try {
        status = await this.#send(n);
      } catch (err) {
        log.warn({ err }, 'notification delivery failed');
      }
      if (status >= 200 && status < 300) return;
      log.warn({ status, attempt }, 'notification not accepted');
      if (status >= 400 && status < 500 && status !== 404) return;
      if (attempt < DELIVERY_ATTEMPTS) await new Promise((r) => setTimeout(r, 100 * 3 ** attempt));
    }
  }
}

/** The buyer's choice from the form body (`application/x-www-form-urlencoded`), or null. */
function parseAction(body: string): BuyerAction | null {
  if (body.length > 2_000) return null;
  const form = new URLSearchParams(body);
  const card = form.get('card_number');
  if (card !== null) return /^[\d\s-]{12,23}$/.test(card) ? { kind: 'card', number: card } : { kind: 'card', number: '' };
  const challenge = form.get('challenge');
  if (challenge === 'complete' || challenge === 'fail') return { kind: 'challenge', outcome: challenge };
  const decision = form.get('decision');
  if (decision === 'approve' || decision === 'reject') return { kind: 'approval', decision };
  return null;
}

function html(status: number, body: string): ApiResponse {
  return { status, raw: body, headers: { ...SandboxPageView.HEADERS } };
}
