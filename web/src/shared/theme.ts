/** The pages' shared look: colours, type and spacing as CSS custom properties (overridable by the shop's page). */
import { css } from 'lit';

export const theme = css`
  :host {
    --fc-accent: var(--flashcast-accent, #fe2c55);
    --fc-accent-text: #fff;
    --fc-bg: var(--flashcast-bg, #111);
    --fc-fg: var(--flashcast-fg, #fff);
    --fc-muted: #9aa0a6;
    --fc-panel: rgba(0, 0, 0, 0.55);
    --fc-ok: #1db954;
    --fc-warn: #ffb020;
    --fc-radius: 12px;
    font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Noto Sans Thai', sans-serif;
    color: var(--fc-fg);
    box-sizing: border-box;
  }
  *, *::before, *::after {
    box-sizing: inherit;
  }
  button {
    font: inherit;
    cursor: pointer;
    border: 0;
    border-radius: var(--fc-radius);
    padding: 0.5rem 0.9rem;
    background: #2a2a2a;
    color: var(--fc-fg);
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button.primary {
    background: var(--fc-accent);
    color: var(--fc-accent-text);
    font-weight: 700;
  }
  input, select, textarea {
    font: inherit;
    padding: 0.45rem 0.6rem;
    border-radius: 8px;
    border: 1px solid #444;
    background: #1b1b1b;
    color: var(--fc-fg);
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
  }
`;
