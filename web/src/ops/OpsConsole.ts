/**
 * `<flashcast-ops>`: the ops console. Signs an ops user in (remembered for the tab), then
 * shows, refreshed every few seconds: each gateway node's connections, messages and
 * deliveries per second; the live rooms with their viewers; failed settlement jobs per queue
 * and failed webhook deliveries, each with a replay button.
 */
import { LitElement, html, css, nothing } from 'lit';
import { HttpChannel } from '../../../client-sdk/HttpChannel.js';
import { theme } from '../shared/theme.js';
import { pageHeader, panel } from '../shared/panel.js';
import { serverOrigin, webConfig, type WebConfig } from '../shared/ServerInfo.js';
import { forgetToken, pageToken, rememberToken, rememberedToken, type PageToken } from '../shared/TokenSource.js';
import { errorCode, errorMessage } from '../shared/errorMessage.js';
import type { SignedIn } from '../shared/SignInForm.js';
import '../shared/SignInForm.js';
import { i18n } from './messages.js';
import { OpsApi, QUEUES, type FailedJob, type OpsOverview, type OpsRoom, type QueueName, type WebhookDelivery } from './OpsApi.js';

const TOKEN_SCOPE = 'ops';
const REFRESH_MS = 5000;

export class OpsConsole extends LitElement {
  static override properties = {
    server: { type: String },
    _config: { state: true },
    _token: { state: true },
    _overview: { state: true },
    _rooms: { state: true },
    _jobs: { state: true },
    _deliveries: { state: true },
    _queue: { state: true },
    _auto: { state: true },
    _updatedAt: { state: true },
    _busy: { state: true },
    _error: { state: true },
    _status: { state: true },
  };
  declare server: string;
  declare _config: WebConfig | null;
  declare _token: PageToken | null;
  declare _overview: OpsOverview | null;
  declare _rooms: OpsRoom[];
  declare _jobs: FailedJob[];
  declare _deliveries: WebhookDelivery[];
  declare _queue: QueueName;
  declare _auto: boolean;
  declare _updatedAt: number;
  declare _busy: string;
  declare _error: string;
  declare _status: string;

  #api: OpsApi | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #refreshing: Promise<void> | null = null;
  #again = false;

  static override styles = [
    theme,
    panel,
    pageHeader,
    css`
      main {
        display: grid;
        gap: 1rem;
        padding: 1rem;
        max-width: 88rem;
        margin: 0 auto;
      }
      @media (min-width: 900px) {
        main {
          grid-template-columns: 1fr 1fr;
        }
        .wide {
          grid-column: 1 / -1;
        }
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.9rem;
      }
      th, td {
        text-align: left;
        padding: 0.35rem 0.4rem;
        border-bottom: 1px solid #2a2a2a;
        vertical-align: top;
      }
      th {
        color: var(--fc-muted);
        font-weight: 600;
      }
      td.num, th.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      .scroll {
        overflow-x: auto;
      }
      .reason {
        color: #ff9e9e;
        font-size: 0.85rem;
        word-break: break-word;
      }
      .tabs {
        display: flex;
        gap: 0.3rem;
        margin-bottom: 0.6rem;
      }
      .tabs button[aria-pressed='true'] {
        background: var(--fc-accent);
        color: var(--fc-accent-text);
      }
      .totals {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr));
        gap: 0.5rem;
        margin-bottom: 0.7rem;
      }
      .totals div {
        background: #222;
        border-radius: 8px;
        padding: 0.5rem 0.6rem;
      }
      .totals b {
        display: block;
        font-size: 1.3rem;
        font-variant-numeric: tabular-nums;
      }
      .totals span {
        font-size: 0.75rem;
        color: var(--fc-muted);
      }
      .center {
        max-width: 40rem;
        margin: 3rem auto;
        padding: 0 1rem;
      }
      label.inline {
        flex-direction: row;
        align-items: center;
        gap: 0.3rem;
      }
    `,
  ];

  constructor() {
    super();
    this.server = '';
    this._config = null;
    this._token = null;
    this._overview = null;
    this._rooms = [];
    this._jobs = [];
    this._deliveries = [];
    this._queue = 'settle';
    this._auto = true;
    this._updatedAt = 0;
    this._busy = '';
    this._error = '';
    this._status = '';
  }

  get #origin(): string {
    return serverOrigin(this.server || null);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#start();
    this.#timer = setInterval(() => {
      if (this._auto && this.#api && document.visibilityState !== 'hidden') void this.refresh();
    }, REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #start(): Promise<void> {
    try {
      this._config = await webConfig(this.#origin);
    } catch (error) {
      this._error = errorMessage(i18n, error);
      return;
    }
    const remembered = rememberedToken(this.#origin, TOKEN_SCOPE);
    if (remembered) this.#signIn(pageToken(remembered));
  }

  #signIn(token: PageToken): void {
    this._token = token;
    this.#api = new OpsApi(new HttpChannel({ baseUrl: this.#origin, token: () => token.token, timeoutMs: 15_000 }));
    rememberToken(this.#origin, TOKEN_SCOPE, token.token);
    void this.refresh();
  }

  #signOut(): void {
    forgetToken(this.#origin, TOKEN_SCOPE);
    this.#api = null;
    this._token = null;
    this._overview = null;
    this._rooms = [];
    this._jobs = [];
    this._deliveries = [];
  }

  /** Reloads everything the console shows (once more after the current reload, if one runs). */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#load().finally(() => {
      this.#refreshing = null;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    const api = this.#api;
    if (!api) return;
    try {
      const [overview, rooms, jobs, deliveries] = await Promise.all([
        api.overview(),
        api.rooms(),
        api.failedJobs(this._queue),
        api.failedDeliveries().catch((error: unknown) => (errorCode(error) === 'NOT_FOUND' ? [] : Promise.reject(error))),
      ]);
      this._overview = overview;
      this._rooms = rooms;
      this._jobs = jobs;
      this._deliveries = deliveries;
      this._updatedAt = Date.now();
      this._error = '';
    } catch (error) {
      if (errorCode(error) === 'UNAUTHORIZED' || errorCode(error) === 'TOKEN_EXPIRED') this.#signOut();
      this._error = errorMessage(i18n, error);
    }
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const header = html`<header>
      <h1>${t('ops.title')}</h1>
      <span class="spacer"></span>
      ${this._token
        ? html`<span class="muted" data-testid="ops-updated">${this._updatedAt ? t('ops.updated', { when: i18n.date(this._updatedAt, { timeStyle: 'medium' }) }) : ''}</span>
            <label class="inline muted"><input type="checkbox" .checked=${this._auto} @change=${(e: Event) => (this._auto = (e.target as HTMLInputElement).checked)} data-testid="ops-auto">${t('ops.auto')}</label>
            <button class="small" @click=${() => void this.refresh()} data-testid="ops-refresh">${t('ops.refresh')}</button>
            <span class="muted">${this._token.userId}</span>
            <button class="small" @click=${this.#signOut} data-testid="signout">${t('ops.signOut')}</button>`
        : nothing}
    </header>`;
    if (!this._config) {
      return html`${header}<p class="center ${this._error ? 'error' : 'muted'}">${this._error || t('ops.loading')}</p>`;
    }
    if (!this._token) {
      return html`${header}<fc-sign-in .config=${this._config} .origin=${this.#origin} .i18n=${i18n} .roles=${['ops']}
        @signed-in=${(e: CustomEvent<SignedIn>) => this.#signIn(e.detail.token)}></fc-sign-in>`;
    }
    return html`${header}
      ${this._error ? html`<p class="center error" role="alert" data-testid="ops-error">${this._error}</p>` : nothing}
      ${this._status ? html`<p class="center ok" role="status" data-testid="ops-status">${this._status}</p>` : nothing}
      <main>
        ${this.#renderOverview()}
        ${this.#renderRooms()}
        ${this.#renderJobs()}
        ${this.#renderDeliveries()}
      </main>`;
  }

  #renderOverview() {
    const t = i18n.t.bind(i18n);
    const o = this._overview;
    const nodes = o?.nodes ?? [];
    const sum = (f: (n: (typeof nodes)[number]) => number) => nodes.reduce((a, n) => a + f(n), 0);
    const rate = (v: number) => i18n.number(v, { maximumFractionDigits: 1 });
    return html`<section class="panel wide" data-testid="ops-overview">
      <h2>${t('ops.overview')}</h2>
      <div class="totals">
        <div><b data-testid="ops-nodes">${i18n.number(nodes.length)}</b><span>${t('ops.nodes')}</span></div>
        <div><b data-testid="ops-connections">${i18n.number(sum((n) => n.connections))}</b><span>${t('ops.connections')}</span></div>
        <div><b data-testid="ops-msgs">${rate(sum((n) => n.messagesPerSecond))}</b><span>${t('ops.messagesPerSecond')}</span></div>
        <div><b data-testid="ops-deliveries">${rate(sum((n) => n.deliveriesPerSecond))}</b><span>${t('ops.deliveriesPerSecond')}</span></div>
        <div><b data-testid="ops-failed-jobs">${o?.failedSettlementJobs ?? '–'}</b><span>${t('ops.failedJobs')}</span></div>
        <div><b data-testid="ops-failed-deliveries">${o?.failedWebhookDeliveries ?? '–'}</b><span>${t('ops.failedDeliveries')}</span></div>
      </div>
      <div class="scroll"><table>
        <thead><tr><th>${t('ops.node')}</th><th class="num">${t('ops.connections')}</th><th class="num">${t('ops.rooms')}</th>
          <th class="num">${t('ops.messagesPerSecond')}</th><th class="num">${t('ops.deliveriesPerSecond')}</th><th>${t('ops.reported')}</th></tr></thead>
        <tbody>${nodes.map((n) => html`<tr data-testid="node-row" data-node-id=${n.nodeId}>
          <td class="mono">${n.nodeId}</td><td class="num">${i18n.number(n.connections)}</td><td class="num">${i18n.number(n.rooms)}</td>
          <td class="num">${rate(n.messagesPerSecond)}</td><td class="num" data-testid="node-deliveries">${rate(n.deliveriesPerSecond)}</td>
          <td class="muted">${i18n.date(n.at, { timeStyle: 'medium' })}</td></tr>`)}</tbody>
      </table></div>
    </section>`;
  }

  #renderRooms() {
    const t = i18n.t.bind(i18n);
    return html`<section class="panel wide" data-testid="ops-rooms">
      <h2>${t('ops.liveRooms')}</h2>
      ${this._rooms.length === 0
        ? html`<p class="muted">${t('ops.noRooms')}</p>`
        : html`<div class="scroll"><table>
            <thead><tr><th>${t('ops.room')}</th><th class="num">${t('ops.viewers')}</th><th>${t('ops.video')}</th><th>${t('ops.deal')}</th><th>${t('ops.byNode')}</th></tr></thead>
            <tbody>${this._rooms.map((r) => html`<tr data-testid="room-row" data-room-id=${r.roomId}>
              <td><a href=${`/watch/?room=${encodeURIComponent(r.roomId)}`} target="_blank" rel="noopener">${r.roomId}</a></td>
              <td class="num" data-testid="room-viewers">${i18n.number(r.viewers)}</td>
              <td>${r.publishing ? html`<span class="badge live">${t('ops.publishing')}</span>` : html`<span class="muted">–</span>`}</td>
              <td class="mono">${r.activeDealId ?? '–'}</td>
              <td class="muted">${r.viewersByNode.map((v) => `${v.nodeId}: ${v.viewers}`).join(', ')}</td>
            </tr>`)}</tbody>
          </table></div>`}
    </section>`;
  }

  #renderJobs() {
    const t = i18n.t.bind(i18n);
    const byQueue = this._overview?.failedSettlementJobsByQueue ?? null;
    return html`<section class="panel" data-testid="ops-jobs">
      <h2>${t('ops.failedJobs')}</h2>
      <div class="tabs" role="group">${QUEUES.map((q) => html`<button class="small" aria-pressed=${this._queue === q} data-testid=${`queue-${q}`}
        @click=${() => this.#pickQueue(q)}>${t(`ops.queue.${q}`)}${byQueue ? ` (${byQueue[q] ?? 0})` : ''}</button>`)}</div>
      ${this._jobs.length === 0
        ? html`<p class="muted">${t('ops.noJobs')}</p>`
        : html`<ul class="list">${this._jobs.map((j) => html`<li data-testid="job-row" data-job-id=${j.jobId}>
            <span class="grow"><span class="mono">${j.jobId}</span> <span class="badge">${j.name}</span><br>
              <span class="reason">${j.failedReason}</span><br>
              <span class="muted">${t('ops.attempts', { count: j.attemptsMade })}${j.finishedOn ? ` · ${i18n.date(j.finishedOn)}` : ''}</span></span>
            <button class="small primary" ?disabled=${this._busy === j.jobId} @click=${() => void this.#replayJob(j)} data-testid="job-replay">${t('ops.replay')}</button>
          </li>`)}</ul>`}
    </section>`;
  }

  #renderDeliveries() {
    const t = i18n.t.bind(i18n);
    return html`<section class="panel" data-testid="ops-deliveries-panel">
      <h2>${t('ops.failedDeliveries')}</h2>
      ${this._deliveries.length === 0
        ? html`<p class="muted">${t('ops.noDeliveries')}</p>`
        : html`<ul class="list">${this._deliveries.map((d) => html`<li data-testid="delivery-row" data-delivery-id=${d.id}>
            <span class="grow"><span class="badge">${d.eventType}</span> <span class="mono">${d.url ?? ''}</span><br>
              <span class="reason">${d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : ''} ${d.lastError ?? ''}</span><br>
              <span class="muted">${t('ops.attempts', { count: d.attempts ?? 0 })}${d.shopId ? ` · ${d.shopId}` : ''}${d.lastAttemptAt ? ` · ${i18n.date(Date.parse(d.lastAttemptAt))}` : ''}</span></span>
            <button class="small primary" ?disabled=${this._busy === d.id} @click=${() => void this.#replayDelivery(d)} data-testid="delivery-replay">${t('ops.replay')}</button>
          </li>`)}</ul>`}
    </section>`;
  }

  #pickQueue(queue: QueueName): void {
    this._queue = queue;
    this._jobs = [];
    void this.refresh();
  }

  async #replayJob(job: FailedJob): Promise<void> {
    await this.#act(job.jobId, async () => {
      await this.#api!.replayJob(this._queue, job.jobId);
      this._status = i18n.t('ops.jobReplayed', { id: job.jobId });
    });
  }

  async #replayDelivery(delivery: WebhookDelivery): Promise<void> {
    await this.#act(delivery.id, async () => {
      await this.#api!.replayDelivery(delivery.id);
      this._status = i18n.t('ops.deliveryReplayed', { id: delivery.id });
    });
  }

  async #act(id: string, step: () => Promise<void>): Promise<void> {
    this._busy = id;
    this._status = '';
    this._error = '';
    try {
      await step();
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = '';
    }
    await this.refresh();
  }
}

if (!customElements.get('flashcast-ops')) customElements.define('flashcast-ops', OpsConsole);
