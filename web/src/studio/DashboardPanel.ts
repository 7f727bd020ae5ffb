/**
 * `<fc-dashboard-panel>`: the live figures the host's socket receives about once a second
 * (RoomEvent.Dashboard: viewers, GMV per currency, orders, units, conversion), with a chart
 * of GMV, orders and viewers over the last ten minutes.
 */
import { LitElement, html, css, type PropertyValues } from 'lit';
import type { flashcast } from '../../../protocol/gen/flashcast.js';
import { RoomEvent } from '../../../client-sdk/Room.js';
import { theme } from '../shared/theme.js';
import { i18n } from './messages.js';
import { panel } from '../shared/panel.js';
import type { DashboardStats, Money } from './StudioApi.js';
import type { StudioSession } from './StudioSession.js';
import './TimeChart.js';

/** Samples kept: an hour at one a second. */
const MAX_SAMPLES = 3600;

interface Sample {
  t: number;
  gmv: number;
  orders: number;
  viewers: number;
}

export class DashboardPanel extends LitElement {
  static override properties = {
    session: { attribute: false },
    _stats: { state: true },
    _viewers: { state: true },
    _samples: { state: true },
  };
  declare session: StudioSession;
  declare _stats: DashboardStats | null;
  declare _viewers: number;
  declare _samples: Sample[];

  readonly #onDashboard = (d: flashcast.IDashboardStats) => this.#take(normalize(d));
  readonly #onStats = (s: flashcast.IRoomStats) => (this._viewers = s.viewers ?? 0);

  static override styles = [
    theme,
    panel,
    css`
      .kpis {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(6.5rem, 1fr));
        gap: 0.5rem;
        margin-bottom: 0.7rem;
      }
      .kpi {
        background: #222;
        border-radius: 8px;
        padding: 0.5rem 0.6rem;
      }
      .kpi b {
        display: block;
        font-size: 1.25rem;
        font-variant-numeric: tabular-nums;
        overflow-wrap: anywhere;
      }
      .kpi span {
        font-size: 0.75rem;
        color: var(--fc-muted);
      }
    `,
  ];

  constructor() {
    super();
    this._stats = null;
    this._viewers = 0;
    this._samples = [];
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('session')) return;
    this.#listen(changed.get('session'), false);
    this.#listen(this.session, true);
    this._viewers = this.session.room.state.viewers;
    this.session.api.dashboard().then((d) => this._stats ?? this.#take(d), () => undefined);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#listen(this.session, false);
  }

  #listen(session: StudioSession | undefined, on: boolean): void {
    if (!session) return;
    if (on) session.room.on(RoomEvent.Dashboard, this.#onDashboard).on(RoomEvent.Stats, this.#onStats);
    else session.room.off(RoomEvent.Dashboard, this.#onDashboard).off(RoomEvent.Stats, this.#onStats);
  }

  #take(stats: DashboardStats): void {
    this._stats = stats;
    this._viewers = stats.viewers;
    const gmv = stats.gmv[0]?.amount ?? 0;
    const samples = [...this._samples, { t: stats.ts || Date.now(), gmv, orders: stats.orders, viewers: stats.viewers }];
    this._samples = samples.length > MAX_SAMPLES ? samples.slice(-MAX_SAMPLES) : samples;
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const s = this._stats;
    const currency = s?.gmv[0]?.currency;
    const gmv = s && s.gmv.length > 0 ? s.gmv.map((m: Money) => i18n.money(m)).join(' · ') : '0';
    // Drawn in this order: GMV on top; orders dashed (they often rise with GMV).
    const series = [
      { label: t('dash.viewers'), color: '#4fc3f7', points: this._samples.map((x) => [x.t, x.viewers] as const), format: (v: number) => i18n.number(v) },
      { label: t('dash.orders'), color: '#ffb020', dash: '4 3', points: this._samples.map((x) => [x.t, x.orders] as const), format: (v: number) => i18n.number(v) },
      { label: t('dash.gmv'), color: '#fe2c55', points: this._samples.map((x) => [x.t, x.gmv] as const), format: (v: number) => (currency ? i18n.money({ amount: v, currency }) : '0') },
    ];
    return html`<section class="panel">
      <h2>${t('dash.title')}</h2>
      <div class="kpis">
        <div class="kpi"><b data-testid="dash-viewers">${i18n.number(this._viewers)}</b><span>${t('dash.viewers')}</span></div>
        <div class="kpi"><b data-testid="dash-gmv" data-amount=${s?.gmv[0]?.amount ?? 0}>${gmv}</b><span>${t('dash.gmv')}</span></div>
        <div class="kpi"><b data-testid="dash-orders" data-value=${s?.orders ?? 0}>${i18n.number(s?.orders ?? 0)}</b><span>${t('dash.orders')}</span></div>
        <div class="kpi"><b data-testid="dash-units" data-value=${s?.units ?? 0}>${i18n.number(s?.units ?? 0)}</b><span>${t('dash.units')}</span></div>
        <div class="kpi"><b data-testid="dash-conversion">${i18n.number(s?.conversion ?? 0, { style: 'percent', maximumFractionDigits: 1 })}</b><span>${t('dash.conversion')}</span></div>
      </div>
      <fc-time-chart data-testid="dash-chart" .series=${series}></fc-time-chart>
    </section>`;
  }
}

/** The socket's DashboardStats (int64 may be Long) as plain numbers. */
function normalize(d: flashcast.IDashboardStats): DashboardStats {
  return {
    room: d.room ?? '',
    gmv: (d.gmv ?? []).map((m) => ({ amount: Number(m.amount ?? 0), currency: m.currency ?? '' })),
    orders: Number(d.orders ?? 0),
    units: Number(d.units ?? 0),
    buyers: Number(d.buyers ?? 0),
    viewers: d.viewers ?? 0,
    conversion: d.conversion ?? 0,
    ts: Number(d.ts ?? 0),
  };
}

if (!customElements.get('fc-dashboard-panel')) customElements.define('fc-dashboard-panel', DashboardPanel);
