/**
 * `<fc-moderation-panel>`: the room's chat as the host sees it, with a delete, mute and ban
 * on each line; who is muted or banned (and lifting it); slow mode; blocked words; and the
 * host's own chat line and announcements. Every action is a moderation frame the server
 * checks against the policy; the panel follows the room's moderation events.
 */
import { LitElement, html, css, nothing, type PropertyValues } from 'lit';
import { flashcast } from '../../../protocol/gen/flashcast.js';
import { RoomEvent } from '../../../client-sdk/Room.js';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { i18n } from './messages.js';
import { panel } from '../shared/panel.js';
import type { ModerationSettings } from './StudioApi.js';
import type { StudioSession } from './StudioSession.js';

/** Chat lines kept on screen. */
const MAX_LINES = 200;
const SLOW_CHOICES = [0, 3, 5, 10, 30, 60, 120];
const MUTE_CHOICES = [300, 3600, 86_400, 0];

interface ChatLine {
  id: string;
  userId: string;
  name: string;
  role: flashcast.Role;
  text: string;
}

export class ModerationPanel extends LitElement {
  static override properties = {
    session: { attribute: false },
    _lines: { state: true },
    _settings: { state: true },
    _muteFor: { state: true },
    _busy: { state: true },
    _error: { state: true },
    _status: { state: true },
  };
  declare session: StudioSession;
  declare _lines: ChatLine[];
  declare _settings: ModerationSettings;
  declare _muteFor: number;
  declare _busy: string;
  declare _error: string;
  declare _status: string;

  readonly #onChat = (m: flashcast.IChatMessage) => {
    const line = { id: m.id ?? '', userId: m.userId ?? '', name: m.name ?? '', role: m.role ?? flashcast.Role.ROLE_UNSPECIFIED, text: m.text ?? '' };
    const lines = [...this._lines, line];
    this._lines = lines.length > MAX_LINES ? lines.slice(-MAX_LINES) : lines;
    void this.updateComplete.then(() => {
      const list = this.renderRoot.querySelector('.chat');
      if (list) list.scrollTop = list.scrollHeight;
    });
  };
  readonly #onModeration = (e: flashcast.IModerationEvent) => this.#apply(e);
  readonly #onSnapshot = () => (this._settings = { ...this._settings, slowModeSeconds: this.session.room.state.slowModeSeconds });

  static override styles = [
    theme,
    panel,
    css`
      .chat {
        max-height: 18rem;
        overflow-y: auto;
        overscroll-behavior: contain;
      }
      .chat li {
        align-items: flex-start;
      }
      .who {
        font-weight: 600;
        margin-right: 0.3rem;
      }
      .line-actions {
        display: flex;
        gap: 0.25rem;
        flex: none;
      }
      textarea {
        width: 100%;
        resize: vertical;
      }
    `,
  ];

  constructor() {
    super();
    this._lines = [];
    this._settings = { slowModeSeconds: 0, words: [], mutes: [], bans: [] };
    this._muteFor = 300;
    this._busy = '';
    this._error = '';
    this._status = '';
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('session')) return;
    this.#listen(changed.get('session'), false);
    this.#listen(this.session, true);
    this._settings = { ...this._settings, slowModeSeconds: this.session.room.state.slowModeSeconds };
    void this.#loadSettings();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#listen(this.session, false);
  }

  #listen(session: StudioSession | undefined, on: boolean): void {
    if (!session) return;
    const room = session.room;
    if (on) room.on(RoomEvent.Chat, this.#onChat).on(RoomEvent.Moderation, this.#onModeration).on(RoomEvent.Snapshot, this.#onSnapshot);
    else room.off(RoomEvent.Chat, this.#onChat).off(RoomEvent.Moderation, this.#onModeration).off(RoomEvent.Snapshot, this.#onSnapshot);
  }

  async #loadSettings(): Promise<void> {
    try {
      this._settings = await this.session.api.moderation();
    } catch (error) {
      this._error = errorMessage(i18n, error);
    }
  }

  /** A moderation event of the room (ours or another moderator's). */
  #apply(e: flashcast.IModerationEvent): void {
    const A = flashcast.ModerationAction;
    const userId = e.userId ?? '';
    const until = e.seconds ? Date.now() + e.seconds * 1000 : 0;
    const s = this._settings;
    switch (e.action) {
      case A.DELETE_MESSAGE:
        this._lines = this._lines.filter((l) => l.id !== e.messageId);
        return;
      case A.MUTE:
        this._settings = { ...s, mutes: [...s.mutes.filter((m) => m.userId !== userId), { userId, until }] };
        return;
      case A.UNMUTE:
        this._settings = { ...s, mutes: s.mutes.filter((m) => m.userId !== userId) };
        return;
      case A.BAN:
        this._settings = { ...s, bans: [...s.bans.filter((m) => m.userId !== userId), { userId, until }] };
        this._lines = this._lines.filter((l) => l.userId !== userId);
        return;
      case A.UNBAN:
        this._settings = { ...s, bans: s.bans.filter((m) => m.userId !== userId) };
        return;
      case A.SLOW_MODE:
        this._settings = { ...s, slowModeSeconds: e.seconds ?? 0 };
        return;
      case A.SET_BLOCKED_WORDS:
        void this.#loadSettings();
        return;
      default:
        return;
    }
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const s = this._settings;
    const me = this.session.userId;
    const staff = (l: ChatLine) => l.userId === me || l.role === flashcast.Role.HOST || l.role === flashcast.Role.MODERATOR || l.role === flashcast.Role.OPS;
    const muted = new Set(s.mutes.map((m) => m.userId));
    const restricted = [...s.mutes.map((m) => ({ ...m, kind: 'mute' as const })), ...s.bans.map((b) => ({ ...b, kind: 'ban' as const }))];
    return html`<section class="panel">
      <h2>${t('mod.title')}</h2>
      <ul class="list chat" data-testid="chat-list" aria-live="polite">
        ${this._lines.length === 0 ? html`<li class="muted">${t('mod.quiet')}</li>` : nothing}
        ${this._lines.map((l) => html`<li data-testid="chat-line" data-message-id=${l.id} data-user-id=${l.userId}>
          <span class="grow"><span class="who">${l.name || l.userId}</span>${muted.has(l.userId) ? html`<span class="badge warn">${t('mod.muted')}</span> ` : nothing}${l.text}</span>
          ${staff(l)
            ? nothing
            : html`<span class="line-actions">
                <button class="small" title=${t('mod.delete')} ?disabled=${this._busy !== ''} @click=${() => void this.#moderate({ action: flashcast.ModerationAction.DELETE_MESSAGE, messageId: l.id })} data-testid="chat-delete">${t('mod.delete')}</button>
                <button class="small" ?disabled=${this._busy !== '' || muted.has(l.userId)} @click=${() => void this.#moderate({ action: flashcast.ModerationAction.MUTE, userId: l.userId, seconds: this._muteFor })} data-testid="chat-mute">${t('mod.mute')}</button>
                <button class="small danger" ?disabled=${this._busy !== ''} @click=${() => void this.#moderate({ action: flashcast.ModerationAction.BAN, userId: l.userId })} data-testid="chat-ban">${t('mod.ban')}</button>
              </span>`}
        </li>`)}
      </ul>
      <form class="row" style="margin-top:0.6rem" @submit=${this.#onSay}>
        <label class="grow"><span class="sr-only">${t('mod.say')}</span><input name="text" maxlength="500" placeholder=${t('mod.say')} data-testid="host-chat"></label>
        <button name="as" value="chat" data-testid="host-chat-send">${t('mod.send')}</button>
        ${this.session.role === 'host' ? html`<button name="as" value="announce" data-testid="announce-send">${t('mod.announce')}</button>` : nothing}
      </form>

      <div class="grid" style="margin-top:0.6rem">
        <label>${t('mod.muteFor')}<select data-testid="mute-duration" @change=${(e: Event) => (this._muteFor = Number((e.target as HTMLSelectElement).value))}>
          ${MUTE_CHOICES.map((sec) => html`<option value=${sec} ?selected=${sec === this._muteFor}>${sec === 0 ? t('mod.untilLifted') : duration(sec)}</option>`)}
        </select></label>
        <label>${t('mod.slowMode')}<select data-testid="slow-mode" @change=${(e: Event) => void this.#moderate({ action: flashcast.ModerationAction.SLOW_MODE, seconds: Number((e.target as HTMLSelectElement).value) })}>
          ${[...new Set([...SLOW_CHOICES, s.slowModeSeconds])].sort((a, b) => a - b).map((sec) => html`<option value=${sec} ?selected=${sec === s.slowModeSeconds}>${sec === 0 ? t('mod.off') : t('mod.everySeconds', { count: sec })}</option>`)}
        </select></label>
      </div>

      ${restricted.length > 0
        ? html`<h3>${t('mod.restricted')}</h3>
            <ul class="list">${restricted.map((r) => html`<li data-testid="restricted-row" data-user-id=${r.userId} data-kind=${r.kind}>
              <span class="grow">${r.userId} <span class="badge ${r.kind === 'ban' ? 'live' : 'warn'}">${t(r.kind === 'ban' ? 'mod.banned' : 'mod.muted')}</span>
                <span class="muted">${r.until ? t('mod.until', { when: i18n.date(r.until, { timeStyle: 'short' }) }) : t('mod.untilLifted')}</span></span>
              <button class="small" ?disabled=${this._busy !== ''} data-testid=${r.kind === 'ban' ? 'unban' : 'unmute'}
                @click=${() => void this.#moderate({ action: r.kind === 'ban' ? flashcast.ModerationAction.UNBAN : flashcast.ModerationAction.UNMUTE, userId: r.userId })}>${t(r.kind === 'ban' ? 'mod.unban' : 'mod.unmute')}</button>
            </li>`)}</ul>`
        : nothing}

      <form @submit=${this.#onWords} style="margin-top:0.6rem">
        <label>${t('mod.words')}<textarea name="words" rows="2" spellcheck="false" placeholder=${t('mod.wordsHint')} data-testid="blocked-words" .value=${s.words.join(', ')}></textarea></label>
        <p class="row"><button class="small" ?disabled=${this._busy !== ''} data-testid="blocked-words-save">${t('mod.saveWords')}</button></p>
      </form>
      ${this._status ? html`<p class="ok" role="status" data-testid="mod-status">${this._status}</p>` : nothing}
      ${this._error ? html`<p class="error" role="alert" data-testid="mod-error">${this._error}</p>` : nothing}
    </section>`;
  }

  async #moderate(action: Omit<flashcast.IModerate, 'room'>): Promise<void> {
    await this.#act(String(action.action), async () => {
      await this.session.room.moderate(action);
      this._status = i18n.t(`mod.done.${flashcast.ModerationAction[action.action ?? 0]}`, { user: action.userId ?? '', count: action.seconds ?? 0 });
    });
  }

  async #act(id: string, step: () => Promise<void>): Promise<void> {
    this._busy = id;
    this._error = '';
    this._status = '';
    try {
      await step();
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = '';
    }
  }

  async #onSay(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const input = form.querySelector<HTMLInputElement>('input[name="text"]')!;
    const text = input.value.trim();
    if (!text) return;
    const announce = (event.submitter as HTMLButtonElement | null)?.value === 'announce';
    await this.#act('say', async () => {
      if (announce) await this.session.room.announce(text);
      else await this.session.room.sendChat(text);
      input.value = '';
    });
  }

  async #onWords(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const raw = String(new FormData(event.target as HTMLFormElement).get('words') ?? '');
    const words = [...new Set(raw.split(/[,\n]+/).map((w) => w.trim()).filter(Boolean))];
    await this.#moderate({ action: flashcast.ModerationAction.SET_BLOCKED_WORDS, words });
  }
}

/** 300 → "5 min", 3600 → "1 h", 86400 → "24 h" (Intl unit formatting). */
function duration(seconds: number): string {
  if (seconds < 3600) return i18n.number(seconds / 60, { style: 'unit', unit: 'minute', unitDisplay: 'short' });
  return i18n.number(seconds / 3600, { style: 'unit', unit: 'hour', unitDisplay: 'short' });
}

if (!customElements.get('fc-moderation-panel')) customElements.define('fc-moderation-panel', ModerationPanel);
