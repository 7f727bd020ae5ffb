/** `<flashcast-live room="…">`: the viewer widget (placeholder until the viewer lands). */
import { LitElement, html } from 'lit';

export class FlashcastLive extends LitElement {
  static override properties = { room: { type: String } };
  declare room: string;

  override render() {
    return html`<p>flashcast-live ${this.room}</p>`;
  }
}

if (!customElements.get('flashcast-live')) customElements.define('flashcast-live', FlashcastLive);
