/** The studio's and the ops console's panel look (cards, forms, lists, badges), on top of the shared theme. */
import { css } from 'lit';

export const panel = css`
  :host {
    display: block;
  }
  section.panel {
    background: #1a1a1a;
    border: 1px solid #2c2c2c;
    border-radius: var(--fc-radius);
    padding: 0.9rem 1rem 1rem;
  }
  h2 {
    font-size: 1rem;
    margin: 0 0 0.7rem;
    display: flex;
    align-items: center;
    gap: 0.5rem;
  }
  h3 {
    font-size: 0.9rem;
    margin: 0.9rem 0 0.4rem;
    color: var(--fc-muted);
    font-weight: 600;
  }
  label {
    display: flex;
    flex-direction: column;
    justify-content: space-between;
    gap: 0.2rem;
    font-size: 0.85rem;
    color: var(--fc-muted);
  }
  label > input, label > select, label > textarea {
    color: var(--fc-fg);
    min-width: 0;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.6rem;
    align-items: flex-end;
  }
  .row > label {
    flex: 1 1 8rem;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr));
    gap: 0.6rem;
  }
  .muted {
    color: var(--fc-muted);
    font-size: 0.85rem;
  }
  .error {
    color: #ff6b6b;
    font-size: 0.9rem;
    margin: 0.5rem 0 0;
  }
  .ok {
    color: var(--fc-ok);
    font-size: 0.9rem;
    margin: 0.5rem 0 0;
  }
  ul.list {
    list-style: none;
    margin: 0;
    padding: 0;
    display: flex;
    flex-direction: column;
    gap: 0.4rem;
  }
  ul.list > li {
    display: flex;
    align-items: center;
    gap: 0.6rem;
    padding: 0.45rem 0.5rem;
    border-radius: 8px;
    background: #222;
    min-width: 0;
  }
  .grow {
    flex: 1 1 auto;
    min-width: 0;
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .thumb {
    width: 2.5rem;
    height: 2.5rem;
    border-radius: 6px;
    object-fit: cover;
    background: #333;
    flex: none;
  }
  .badge {
    font-size: 0.75rem;
    padding: 0.1rem 0.45rem;
    border-radius: 999px;
    background: #333;
    white-space: nowrap;
  }
  .badge.live {
    background: var(--fc-accent);
    color: var(--fc-accent-text);
  }
  .badge.ok {
    background: var(--fc-ok);
    color: #000;
  }
  .badge.warn {
    background: var(--fc-warn);
    color: #000;
  }
  button.small {
    padding: 0.25rem 0.6rem;
    font-size: 0.85rem;
  }
  button.danger {
    background: #5a1e1e;
  }
  code, .mono {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.85rem;
    word-break: break-all;
  }
`;

/** The top bar of the studio and the ops console: title, a spacer, then the page's controls. */
export const pageHeader = css`
  :host {
    display: block;
    min-height: 100dvh;
    background: var(--fc-bg);
  }
  header {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5rem 1rem;
    padding: 0.6rem 1rem;
    border-bottom: 1px solid #2c2c2c;
    background: var(--fc-bg);
  }
  header h1 {
    font-size: 1.05rem;
    margin: 0;
  }
  header .spacer {
    flex: 1;
  }
`;
