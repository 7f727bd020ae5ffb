import { Currency } from '../commerce/Currency.js';
import { InstalmentPlan } from '../commerce/InstalmentPlan.js';
import type { SandboxSession } from './SandboxSessions.js';
import { TEST_CARDS } from './SandboxSessions.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** `1234 5678 ...` */
const spaced = (card: string) => card.replace(/(\d{4})(?=\d)/g, '$1 ');
/** A due date as the buyer reads it: 2025-07-14 (UTC). */
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1b1f24}
main{max-width:28rem;margin:0 auto;padding:1rem}
header{display:flex;justify-content:space-between;align-items:baseline;margin:.5rem 0 1rem}
.brand{font-weight:700;letter-spacing:.02em}.amount{font-size:1.4rem;font-weight:700}
section{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.15rem;margin:0 0 .75rem}p{margin:.5rem 0}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input{width:100%;font-size:1.1rem;padding:.75rem;border:1px solid #c4c9d0;border-radius:.5rem}
button{width:100%;font-size:1.05rem;font-weight:600;padding:.85rem;margin-top:.75rem;border:0;border-radius:.5rem;background:#2456d6;color:#fff}
button.secondary{background:#e6e8ec;color:#1b1f24}
table{width:100%;border-collapse:collapse;margin:.5rem 0}td{padding:.45rem 0;border-bottom:1px solid #eceef1}td:last-child{text-align:right;font-variant-numeric:tabular-nums}
ul{padding-left:1.1rem;margin:.5rem 0}code{font-size:.95rem}
.error{color:#b42318;font-weight:600}.ok{color:#067647}.muted{color:#5d6673;font-size:.9rem}
a.return{display:block;text-align:center;margin-top:1rem}
`;

/**
 * The sandbox's hosted payment page, as HTML: small, no external assets, phone-first. One
 * view per step: card entry (with the test cards), 3-D Secure challenge, BNPL plan (each
 * instalment's amount and due date, from InstalmentPlan.split) or wallet approval, and the
 * result. Forms post back to the same URL; nothing runs in the page.
 */
export class SandboxPageView {
  private constructor() {}

  /** The headers every page is sent with (no caching, no framing, nothing loaded from elsewhere). */
  static readonly HEADERS: Readonly<Record<string, string>> = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };

  /** The page of a session in its current state; `error` is shown above the form. */
  static render(session: SandboxSession, error: string | null = null, now = Date.now()): string {
    const amount = Currency.format(session.amount, session.currency);
    let body: string;
    switch (session.status) {
      case 'open':
        body = session.method === 'card' ? SandboxPageView.#card(amount) : session.method === 'bnpl' ? SandboxPageView.#plan(session, now) : SandboxPageView.#wallet(amount);
        break;
      case 'challenge':
        body = SandboxPageView.#challenge(amount);
        break;
      default:
        body = SandboxPageView.#result(session, amount);
    }
    const problem = error ? `<p class="error" id="error" role="alert">${esc(error)}</p>` : '';
    return page(`<header><span class="brand">Sandbox Pay</span><span class="amount" id="amount">${esc(amount)}</span></header>
<section>${problem}${body}</section>
<p class="muted">Test mode: no real money moves.</p>`);
  }

  /** The page for an unknown session. */
  static notFound(): string {
    return page('<section><h1>Payment not found</h1><p>This payment link is not valid.</p></section>');
  }

  static #card(amount: string): string {
    const cards = Object.entries(TEST_CARDS)
      .map(([number, c]) => `<li><code>${spaced(number)}</code> ${esc(c.label)}</li>`).join('');
    return `<h1>Pay ${esc(amount)} by card</h1>
<form method="post"><label for="card-number">Card number</label>
<input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" required maxlength="23" placeholder="4242 4242 4242 4242">
<button id="pay" type="submit">Pay ${esc(amount)}</button></form>
<p class="muted">Test cards:</p><ul class="muted">${cards}</ul>`;
  }

  static #challenge(amount: string): string {
    return `<h1>3-D Secure</h1><p>Your bank asks you to confirm this payment of <strong>${esc(amount)}</strong>.</p>
<form method="post"><input type="hidden" name="challenge" value="complete"><button id="complete-3ds" type="submit">Confirm payment</button></form>
<form method="post"><input type="hidden" name="challenge" value="fail"><button id="fail-3ds" class="secondary" type="submit">Cancel</button></form>`;
  }

  static #plan(session: SandboxSession, now: number): string {
    const count = session.instalments ?? 3;
    const rows = InstalmentPlan.split(session.amount, session.currency, count, now)
      .map((i) => `<tr class="instalment"><td>${i.seq === 1 ? 'Today' : `Payment ${i.seq}`} · <time datetime="${day(i.dueAt)}">${day(i.dueAt)}</time></td><td>${esc(Currency.format(i.amount, i.currency))}</td></tr>`)
      .join('');
    return `<h1>Pay in ${count} with Sandbox PayLater</h1><p>${count} interest-free payments, 30 days apart.</p>
<table id="instalments">${rows}</table>
<form method="post"><input type="hidden" name="decision" value="approve"><button id="approve" type="submit">Approve plan</button></form>
<form method="post"><input type="hidden" name="decision" value="reject"><button id="reject" class="secondary" type="submit">Reject</button></form>`;
  }

  static #wallet(amount: string): string {
    return `<h1>Sandbox Wallet</h1><p>Approve the payment of <strong>${esc(amount)}</strong>.</p>
<form method="post"><input type="hidden" name="decision" value="approve"><button id="approve" type="submit">Approve</button></form>
<form method="post"><input type="hidden" name="decision" value="reject"><button id="reject" class="secondary" type="submit">Reject</button></form>`;
  }

  static #result(session: SandboxSession, amount: string): string {
    const back = session.returnUrl ? `<a class="return" id="return" href="${esc(session.returnUrl)}">Return to the shop</a>` : '<p class="muted">You can close this page.</p>';
    if (session.status === 'captured') {
      return `<h1 class="ok" id="result" data-status="captured">Payment approved</h1><p>${esc(amount)} paid. Reference <code>${esc(session.reference ?? '')}</code>.</p>${back}`;
    }
    if (session.status === 'declined') {
      return `<h1 class="error" id="result" data-status="declined">Payment declined</h1><p>Reason: <code>${esc(session.reason ?? 'declined')}</code>. Nothing was charged.</p>${back}`;
    }
    return `<h1 id="result" data-status="canceled">Payment expired</h1><p>This payment can no longer be completed. Nothing was charged.</p>${back}`;
  }
}

function page(content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox Pay</title><style>${STYLE}</style></head><body><main>${content}</main></body></html>`;
}
