/**
 * The viewer's bottom sheets, as templates: signing in (to chat or buy) and the purchase
 * (held units, totals, address, way to pay with each BNPL instalment, the provider's step,
 * the order's status). They sit above the page and below the action bar, whose big button
 * drives the purchase (so the payment entrance stays in the same place throughout).
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { PaymentMethod } from '../../../client-sdk/checkout.js';
import type { flashcast } from '../../../protocol/gen/flashcast.js';
import type { I18n } from '../shared/I18n.js';
import type { CheckoutState, PaymentChoice } from './CheckoutFlow.js';
import type { Money } from './Offer.js';

export interface SheetContext {
  t: (key: string, params?: Record<string, string | number>) => string;
  i18n: I18n;
  /** Money as is. */
  money: (money: Money) => string;
  /** Money in the buyer's display currency when a rate is known. */
  shown: (money: Money) => string;
  /** Milliseconds until a server-clock instant. */
  remaining: (serverInstant: number) => number;
  close: () => void;
  defaultCountry: string;
}

/** Countries offered in the forms (any ISO code is accepted by the server; these are the shortcuts). */
const COUNTRIES = ['ID', 'MY', 'TH', 'VN', 'SG', 'PH', 'US', 'GB', 'JP', 'CN', 'AU'];

function countryOptions(ctx: SheetContext, selected: string): TemplateResult[] {
  let names: Intl.DisplayNames | null = null;
  try {
    names = new Intl.DisplayNames([ctx.i18n.locale], { type: 'region' });
  } catch {
    names = null;
  }
  const list = COUNTRIES.includes(selected) ? COUNTRIES : [selected, ...COUNTRIES];
  return list.map((code) => html`<option value=${code} ?selected=${code === selected}>${names?.of(code) ?? code}</option>`);
}

function head(ctx: SheetContext, title: string, id: string, closable = true): TemplateResult {
  return html`<div class="head">
    <h2 id=${id} tabindex="-1">${title}</h2>
    <button class="close" data-testid="sheet-close" aria-label=${ctx.t('sheet.close')} ?disabled=${!closable} @click=${ctx.close}>✕</button>
  </div>`;
}

/** A refusal's text: the code's own message, else a generic one naming the code. */
export function failureText(ctx: SheetContext, code: string): string {
  return ctx.i18n.has(`error.${code}`) ? ctx.t(`error.${code}`) : ctx.t('error.generic', { code });
}

export function signInPanel(
  ctx: SheetContext,
  o: { dev: boolean; shop: boolean; reason: 'chat' | 'buy' | ''; error: string; busy: boolean; submit: (event: Event) => void },
): TemplateResult {
  const title = o.reason === 'buy' ? ctx.t('signIn.toBuy') : o.reason === 'chat' ? ctx.t('signIn.toChat') : ctx.t('signIn.title');
  let body: TemplateResult;
  if (o.dev) {
    body = html`<form data-testid="sign-in-form" @submit=${o.submit}>
      <p class="muted">${ctx.t('signIn.devNote')}</p>
      <label>${ctx.t('signIn.name')}<input name="name" data-testid="sign-in-name" required maxlength="40" autocomplete="nickname" /></label>
      <label>${ctx.t('address.country')}<select name="region" data-testid="sign-in-region">${countryOptions(ctx, ctx.defaultCountry)}</select></label>
      <button class="primary" type="submit" data-testid="sign-in-submit" ?disabled=${o.busy}>${o.busy ? ctx.t('signIn.busy') : ctx.t('signIn.submit')}</button>
    </form>`;
  } else if (o.shop) {
    body = html`<form data-testid="sign-in-form" @submit=${o.submit}>
      <p>${ctx.t('signIn.shopNote')}</p>
      <button class="primary" type="submit" data-testid="sign-in-submit" ?disabled=${o.busy}>${ctx.t('signIn.shopDone')}</button>
    </form>`;
  } else {
    body = html`<p>${ctx.t('signIn.unavailable')}</p>`;
  }
  return html`<section class="sheet" data-testid="sign-in-sheet">
    <div class="panel" role="dialog" aria-labelledby="fc-signin-title">
      ${head(ctx, title, 'fc-signin-title')}
      ${body}
      ${o.error ? html`<p class="fault" role="alert" data-testid="sign-in-error">${failureText(ctx, o.error)}</p>` : nothing}
    </div>
  </section>`;
}

export interface CheckoutActions {
  choice: PaymentChoice;
  choose: (choice: PaymentChoice) => void;
  saveAddress: (event: Event) => void;
  openProvider: () => void;
  offerTitle: string;
}

const asMoney = (m: flashcast.IMoney | null | undefined): Money | null =>
  m && m.currency ? { amount: Number(m.amount ?? 0), currency: m.currency } : null;

function totals(ctx: SheetContext, s: CheckoutState): TemplateResult | typeof nothing {
  const r = s.result;
  const o = s.order;
  let items: Money | null;
  let shipping: Money | null;
  let total: Money | null;
  let display: Money | null;
  if (o) {
    // The order as recorded: its total includes shipping.
    const ship = Number(o.shipping_amount ?? 0);
    items = { amount: o.total_amount - ship, currency: o.currency };
    shipping = { amount: ship, currency: o.currency };
    total = { amount: o.total_amount, currency: o.currency };
    display = o.display_currency && o.display_amount !== null ? { amount: o.display_amount, currency: o.display_currency } : null;
  } else if (r) {
    items = asMoney(r.itemsTotal) ?? asMoney(r.total);
    shipping = asMoney(r.shipping);
    total = asMoney(r.total);
    display = asMoney(r.displayTotal);
  } else {
    return nothing;
  }
  const pending = !o && r?.shippingCode === 'ADDRESS_REQUIRED';
  return html`<dl class="totals" data-testid="totals">
    ${items ? html`<dt>${ctx.t('checkout.items')}</dt><dd data-testid="items-total">${ctx.money(items)}</dd>` : nothing}
    <dt>${ctx.t('checkout.shipping')}</dt>
    <dd data-testid="shipping">${pending ? ctx.t('checkout.shippingLater') : shipping ? (shipping.amount === 0 ? ctx.t('checkout.free') : ctx.money(shipping)) : ctx.t('checkout.free')}</dd>
    ${total ? html`<dt class="total">${ctx.t('checkout.total')}</dt><dd class="total" data-testid="total" data-amount=${total.amount} data-currency=${total.currency}
      data-final=${pending ? 'false' : 'true'}>${ctx.money(total)}</dd>` : nothing}
    ${display && total && display.currency !== total.currency
      ? html`<dt>${ctx.t('checkout.inYourCurrency')}</dt><dd data-testid="display-total">≈ ${ctx.money(display)}</dd>`
      : nothing}
  </dl>
  ${o && o.instalments.length > 0 ? html`<ol class="muted" data-testid="order-instalments">
    ${o.instalments.map((i) => html`<li>${ctx.t('pay.instalment', { amount: ctx.money({ amount: i.amount, currency: i.currency }), date: ctx.i18n.date(new Date(i.due_at), { dateStyle: 'medium' }) })}</li>`)}
  </ol>` : nothing}`;
}

function addressForm(ctx: SheetContext, s: CheckoutState, a: CheckoutActions): TemplateResult {
  const faults = new Map(s.addressFaults.map((f) => [f.field, f.reason]));
  const field = (name: string, label: string, attrs: { autocomplete: string; type?: string; required?: boolean }) => {
    const reason = faults.get(name);
    return html`<label>${label}
      <input name=${name} data-testid=${`address-${name}`} type=${attrs.type ?? 'text'} autocomplete=${attrs.autocomplete} ?required=${attrs.required ?? false}
        aria-invalid=${reason ? 'true' : 'false'} />
      ${reason ? html`<span class="fault" data-testid=${`fault-${name}`}>${ctx.t(`address.fault.${reason}`)}</span>` : nothing}
    </label>`;
  };
  return html`<form id="address-form" data-testid="address-form" @submit=${a.saveAddress} novalidate>
    <h3 class="muted">${ctx.t('address.title')}</h3>
    ${field('name', ctx.t('address.name'), { autocomplete: 'name', required: true })}
    ${field('phone', ctx.t('address.phone'), { autocomplete: 'tel', type: 'tel', required: true })}
    ${field('line1', ctx.t('address.line1'), { autocomplete: 'address-line1', required: true })}
    ${field('line2', ctx.t('address.line2'), { autocomplete: 'address-line2' })}
    <div class="row">
      ${field('district', ctx.t('address.district'), { autocomplete: 'address-level3' })}
      ${field('city', ctx.t('address.city'), { autocomplete: 'address-level2' })}
    </div>
    <div class="row">
      ${field('state', ctx.t('address.state'), { autocomplete: 'address-level1' })}
      ${field('postalCode', ctx.t('address.postalCode'), { autocomplete: 'postal-code' })}
    </div>
    <label>${ctx.t('address.country')}
      <select name="country" data-testid="address-country" autocomplete="country">${countryOptions(ctx, ctx.defaultCountry)}</select>
    </label>
  </form>`;
}

function methods(ctx: SheetContext, s: CheckoutState, a: CheckoutActions): TemplateResult {
  const step = s.step!;
  const chosen = a.choice;
  const option = (id: string, method: PaymentMethod, label: string, instalments?: 3 | 6, detail?: TemplateResult) => {
    const checked = chosen.method === method && (method !== 'bnpl' || chosen.instalments === instalments);
    return html`<label class="method">
      <input type="radio" name="method" data-testid=${`method-${id}`} .checked=${checked}
        @change=${() => a.choose({ ...chosen, method, instalments })} />
      <span>${label}</span>
      ${detail ?? nothing}
    </label>`;
  };
  const plans = step.instalmentOptions.filter((o) => o.count === 3 || o.count === 6);
  return html`<fieldset class="methods" data-testid="methods">
      <legend class="muted">${ctx.t('pay.title')}</legend>
      ${step.methods.includes('card') ? option('card', 'card', ctx.t('pay.card')) : nothing}
      ${step.methods.includes('wallet') ? option('wallet', 'wallet', ctx.t('pay.wallet')) : nothing}
      ${step.methods.includes('bnpl')
        ? plans.map((plan) => option(`bnpl-${plan.count}`, 'bnpl', ctx.t('pay.bnpl', { count: plan.count }), plan.count as 3 | 6, html`<ol data-testid=${`instalments-${plan.count}`}>
            ${plan.instalments.map((i) => html`<li data-amount=${i.amount.amount}>${ctx.t('pay.instalment', { amount: ctx.money(i.amount), date: ctx.i18n.date(i.dueAt, { dateStyle: 'medium' }) })}</li>`)}
          </ol>`))
        : nothing}
    </fieldset>
    ${s.result?.shippingCode === 'ADDRESS_REQUIRED' ? html`<p class="muted">${ctx.t('pay.beforeShipping')}</p>` : nothing}
    <label class="check"><input type="checkbox" data-testid="save-method" .checked=${chosen.save}
      @change=${(e: Event) => a.choose({ ...chosen, save: (e.target as HTMLInputElement).checked })} />${ctx.t('pay.save')}</label>`;
}

export function checkoutPanel(ctx: SheetContext, s: CheckoutState, a: CheckoutActions): TemplateResult {
  const busy = s.stage === 'holding' || s.stage === 'confirming';
  const held = s.expiresAt > 0 && ['address', 'method', 'provider', 'confirming'].includes(s.stage);
  let body: TemplateResult | typeof nothing = nothing;
  switch (s.stage) {
    case 'holding':
      body = html`<p class="status" role="status" data-testid="order-status" data-status="holding">${ctx.t('checkout.holding')}</p>`;
      break;
    case 'address':
      body = addressForm(ctx, s, a);
      break;
    case 'method':
    case 'confirming':
      body = s.step ? methods(ctx, s, a) : nothing;
      break;
    case 'provider':
      body = html`<p class="status" role="status" data-testid="order-status" data-status="provider">
          ${s.providerAction === 'approval' ? ctx.t('checkout.approve') : ctx.t('checkout.complete')}
        </p>
        <a class="link" data-testid="provider-link" href=${s.providerUrl} target="flashcast-payment" rel="opener"
          @click=${(e: Event) => { e.preventDefault(); a.openProvider(); }}>${ctx.t('checkout.openProvider')}</a>`;
      break;
    case 'settling':
      body = html`<p class="status" role="status" data-testid="order-status" data-status="settling">${ctx.t('checkout.settling')}</p>`;
      break;
    case 'paid':
      body = html`<p class="status" role="status" data-testid="order-status" data-status="paid" data-order=${s.orderId}>${ctx.t('checkout.paid')}</p>
        <p class="muted" data-testid="order-id">${ctx.t('checkout.orderId', { id: s.orderId })}</p>`;
      break;
    case 'failed':
      body = html`${s.step && s.code === 'PAYMENT_UNAVAILABLE' ? methods(ctx, s, a) : nothing}
        <p class="status" role="alert" data-testid="order-status" data-status="failed" data-code=${s.code}>${failureText(ctx, s.code)}</p>`;
      break;
    default:
      break;
  }
  const faultCode = s.code && s.stage !== 'failed' ? s.code : '';
  return html`<section class="sheet" data-testid="checkout">
    <div class="panel" role="dialog" aria-labelledby="fc-checkout-title" aria-busy=${busy ? 'true' : 'false'}>
      ${head(ctx, ctx.t('checkout.title'), 'fc-checkout-title', !busy)}
      ${a.offerTitle ? html`<p class="muted">${a.offerTitle}</p>` : nothing}
      ${held ? html`<p class="muted" data-testid="hold" aria-live="off">${ctx.t('checkout.heldFor', { time: ctx.i18n.duration(ctx.remaining(s.expiresAt)) })}</p>` : nothing}
      ${totals(ctx, s)}
      ${body}
      ${faultCode && s.addressFaults.length === 0 ? html`<p class="fault" role="alert" data-testid="checkout-error">${failureText(ctx, faultCode)}</p>` : nothing}
    </div>
  </section>`;
}
