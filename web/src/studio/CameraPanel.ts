/**
 * `<fc-camera-panel>`: the host picks a camera and a microphone, sees the preview, goes live
 * (room.publish: video in three simulcast layers, as the SDK does; the room's phase becomes
 * LIVE with the title) and ends. Switching devices while live replaces the tracks in place.
 */
import { LitElement, html, css, nothing, type PropertyValues } from 'lit';
import { flashcast } from '../../../protocol/gen/flashcast.js';
import type { Publisher } from '../../../client-sdk/media/Publisher.js';
import { RoomEvent } from '../../../client-sdk/Room.js';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { i18n } from './messages.js';
import { panel } from '../shared/panel.js';
import type { StudioSession } from './StudioSession.js';

/** What the panel is doing: `off` (no camera), `preview`, then the publisher's states. */
export type CameraState = 'off' | 'preview' | 'starting' | 'live' | 'recovering';

export class CameraPanel extends LitElement {
  static override properties = {
    session: { attribute: false },
    _cameras: { state: true },
    _mics: { state: true },
    _cameraId: { state: true },
    _micId: { state: true },
    _state: { state: true },
    _phase: { state: true },
    _busy: { state: true },
    _error: { state: true },
  };
  declare session: StudioSession;
  declare _cameras: MediaDeviceInfo[];
  declare _mics: MediaDeviceInfo[];
  declare _cameraId: string;
  declare _micId: string;
  declare _state: CameraState;
  declare _phase: flashcast.RoomPhase;
  declare _busy: boolean;
  declare _error: string;

  #stream: MediaStream | null = null;
  #publisher: Publisher | null = null;
  readonly #onDevices = () => void this.#listDevices();
  readonly #onRoomState = () => (this._phase = this.session.room.state.phase);

  static override styles = [
    theme,
    panel,
    css`
      .stage {
        position: relative;
        background: #000;
        border-radius: 10px;
        overflow: hidden;
        aspect-ratio: 16 / 9;
      }
      video {
        width: 100%;
        height: 100%;
        object-fit: contain;
        display: block;
      }
      .stage .badge {
        position: absolute;
        top: 0.5rem;
        left: 0.5rem;
      }
      .placeholder {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        color: var(--fc-muted);
      }
      .actions {
        margin-top: 0.7rem;
      }
      .actions button {
        flex: 1 1 auto;
      }
    `,
  ];

  constructor() {
    super();
    this._cameras = [];
    this._mics = [];
    this._cameraId = '';
    this._micId = '';
    this._state = 'off';
    this._phase = flashcast.RoomPhase.ROOM_PHASE_UNSPECIFIED;
    this._busy = false;
    this._error = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    navigator.mediaDevices?.addEventListener('devicechange', this.#onDevices);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    navigator.mediaDevices?.removeEventListener('devicechange', this.#onDevices);
    this.session?.room.off(RoomEvent.State, this.#onRoomState).off(RoomEvent.Snapshot, this.#onRoomState);
    void this.#publisher?.stop();
    this.#publisher = null;
    this.#stopTracks();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('session')) {
      const old = changed.get('session');
      old?.room.off(RoomEvent.State, this.#onRoomState).off(RoomEvent.Snapshot, this.#onRoomState);
      this.session.room.on(RoomEvent.State, this.#onRoomState).on(RoomEvent.Snapshot, this.#onRoomState);
      this._phase = this.session.room.state.phase;
    }
  }

  protected override updated(): void {
    const video = this.renderRoot.querySelector('video');
    if (video && video.srcObject !== this.#stream) video.srcObject = this.#stream;
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const live = this._state === 'live' || this._state === 'starting' || this._state === 'recovering';
    const phaseName = flashcast.RoomPhase[this._phase] ?? '';
    return html`<section class="panel">
      <h2>${t('camera.title')} <span class="badge" data-testid="room-phase" data-phase=${phaseName}>${t(`phase.${phaseName}`)}</span></h2>
      <div class="stage">
        <video autoplay muted playsinline data-testid="preview"></video>
        ${this.#stream ? nothing : html`<div class="placeholder">${t('camera.off')}</div>`}
        <span class="badge ${this._state === 'live' ? 'live' : this._state === 'recovering' ? 'warn' : ''}" data-testid="live-state" data-state=${this._state}>${t(`camera.state.${this._state}`)}</span>
      </div>
      <div class="grid" style="margin-top:0.7rem">
        <label>${t('camera.camera')}<select data-testid="camera-select" @change=${(e: Event) => void this.#pick('video', (e.target as HTMLSelectElement).value)}>
          ${this._cameras.length === 0 ? html`<option value="">${t('camera.default')}</option>` : nothing}
          ${this._cameras.map((d, i) => html`<option value=${d.deviceId} ?selected=${d.deviceId === this._cameraId}>${d.label || t('camera.cameraN', { n: i + 1 })}</option>`)}
        </select></label>
        <label>${t('camera.mic')}<select data-testid="mic-select" @change=${(e: Event) => void this.#pick('audio', (e.target as HTMLSelectElement).value)}>
          ${this._mics.length === 0 ? html`<option value="">${t('camera.default')}</option>` : nothing}
          ${this._mics.map((d, i) => html`<option value=${d.deviceId} ?selected=${d.deviceId === this._micId}>${d.label || t('camera.micN', { n: i + 1 })}</option>`)}
        </select></label>
        <label style="grid-column: 1 / -1">${t('camera.liveTitle')}<input maxlength="200" data-testid="live-title" placeholder=${t('camera.liveTitleHint')}></label>
      </div>
      <div class="row actions">
        ${this.#stream ? nothing : html`<button ?disabled=${this._busy} @click=${() => void this.#run(async () => void (await this.#openStream()))} data-testid="camera-start">${t('camera.start')}</button>`}
        ${live
          ? html`<button class="danger" ?disabled=${this._busy} @click=${() => void this.#run(() => this.#end())} data-testid="end-live">${t('camera.end')}</button>`
          : html`<button class="primary" ?disabled=${this._busy} @click=${() => void this.#run(() => this.#goLive())} data-testid="go-live">${t('camera.goLive')}</button>`}
      </div>
      ${this.session.config.video ? nothing : html`<p class="error" data-testid="camera-novideo">${t('camera.noVideo')}</p>`}
      ${this._error ? html`<p class="error" role="alert" data-testid="camera-error">${this._error}</p>` : nothing}
    </section>`;
  }

  async #run(step: () => Promise<void>): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      await step();
    } catch (error) {
      this._error = error instanceof DOMException ? deviceError(error) : errorMessage(i18n, error);
    } finally {
      this._busy = false;
    }
  }

  /** Opens the chosen camera and microphone (720p asked: three simulcast layers need it). */
  async #openStream(): Promise<MediaStream> {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error(i18n.t('camera.insecure'));
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { ...(this._cameraId ? { deviceId: { exact: this._cameraId } } : {}), width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: this._micId ? { deviceId: { exact: this._micId } } : true,
    });
    this.#stopTracks();
    this.#stream = stream;
    if (this._state === 'off') this._state = 'preview';
    this._cameraId = stream.getVideoTracks()[0]?.getSettings().deviceId ?? this._cameraId;
    this._micId = stream.getAudioTracks()[0]?.getSettings().deviceId ?? this._micId;
    await this.#listDevices();
    this.requestUpdate();
    return stream;
  }

  /** Labels are readable once the page may use a device. */
  async #listDevices(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    this._cameras = devices.filter((d) => d.kind === 'videoinput' && d.deviceId);
    this._mics = devices.filter((d) => d.kind === 'audioinput' && d.deviceId);
  }

  /** Another device: a new track, replaced in the producer while live. */
  async #pick(kind: 'video' | 'audio', deviceId: string): Promise<void> {
    if (kind === 'video') this._cameraId = deviceId;
    else this._micId = deviceId;
    if (!this.#stream) return;
    await this.#run(async () => {
      const constraints = kind === 'video'
        ? { video: { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } } }
        : { audio: { deviceId: { exact: deviceId } } };
      const fresh = await navigator.mediaDevices.getUserMedia(constraints);
      const track = fresh.getTracks()[0];
      const old = kind === 'video' ? this.#stream!.getVideoTracks()[0] : this.#stream!.getAudioTracks()[0];
      const producer = this.#publisher?.producers.find((p) => p.kind === kind);
      if (producer) await producer.replaceTrack({ track });
      if (old) {
        this.#stream!.removeTrack(old);
        old.stop();
      }
      this.#stream!.addTrack(track);
      // A new MediaStream object makes the preview pick the new track up.
      this.#stream = new MediaStream(this.#stream!.getTracks());
      this.requestUpdate();
    });
  }

  async #goLive(): Promise<void> {
    const stream = this.#stream ?? (await this.#openStream());
    this._state = 'starting';
    try {
      const publisher = await this.session.room.publish(stream, { stopTracks: false });
      this.#publisher = publisher;
      publisher.on('state', (state) => {
        if (this.#publisher === publisher && state !== 'stopped') this._state = state;
      });
      this._state = publisher.state === 'stopped' ? 'preview' : publisher.state;
    } catch (error) {
      this._state = 'preview';
      throw error;
    }
    const title = this.renderRoot.querySelector<HTMLInputElement>('[data-testid="live-title"]')?.value.trim() || undefined;
    await this.session.room.setPhase(flashcast.RoomPhase.ROOM_LIVE, title);
  }

  async #end(): Promise<void> {
    const publisher = this.#publisher;
    this.#publisher = null;
    await publisher?.stop();
    this.#stopTracks();
    this._state = 'off';
    await this.session.room.setPhase(flashcast.RoomPhase.ROOM_ENDED);
  }

  #stopTracks(): void {
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
  }
}

/** Camera errors the browser names (NotAllowedError, NotFoundError...). */
function deviceError(error: DOMException): string {
  const key = `camera.${error.name}`;
  const text = i18n.t(key);
  return text === key ? error.message : text;
}

if (!customElements.get('fc-camera-panel')) customElements.define('fc-camera-panel', CameraPanel);
