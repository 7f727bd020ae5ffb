/**
 * The viewer's look, phone first (360×640): the video fills the element, the live overlays sit
 * on it, and the action bar (chat and the buy button) is pinned to the bottom above everything,
 * so the buy button is never scrolled away or covered. Shops restyle it with the CSS custom
 * properties in docs/web.md and `::part()`.
 */
import { css } from 'lit';

export const viewerStyles = css`
  :host {
    display: block;
    position: relative;
    height: var(--flashcast-height, 640px);
    max-width: 100%;
    overflow: hidden;
    background: var(--fc-bg);
    border-radius: var(--flashcast-radius, 0);
    contain: layout paint;
    font-size: var(--flashcast-font-size, 15px);
    line-height: 1.35;
  }
  [hidden] {
    display: none !important;
  }
  :focus-visible {
    outline: 3px solid var(--flashcast-focus, #4da3ff);
    outline-offset: 2px;
  }
  .stage {
    position: absolute;
    inset: 0;
    display: flex;
    flex-direction: column;
  }
  video {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
    object-fit: var(--flashcast-video-fit, contain);
    background: #000;
  }
  .poster {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: start center;
    text-align: center;
    padding: 22% 2rem 2rem;
    background: radial-gradient(circle at 50% 35%, #3a1f2b, #111 70%);
    background-size: cover;
    background-position: center;
  }
  .poster p {
    margin: 0.4rem 0;
  }
  .poster .title {
    font-size: 1.2em;
    font-weight: 700;
  }
  .main {
    position: relative;
    flex: 1 1 auto;
    min-height: 0;
    display: flex;
    flex-direction: column;
  }
  .overlay {
    position: relative;
    flex: 1 1 auto;
    min-height: 0;
    display: flex;
    flex-direction: column;
    justify-content: flex-end;
    gap: 0.5rem;
    padding: 0.5rem 0.6rem;
    background: linear-gradient(to bottom, rgba(0, 0, 0, 0.45), transparent 18%, transparent 45%, rgba(0, 0, 0, 0.6));
  }
  header {
    position: absolute;
    top: 0;
    left: 0;
    right: 0;
    display: flex;
    align-items: center;
    gap: 0.4rem;
    padding: 0.5rem 0.6rem;
    z-index: 3;
  }
  .spacer {
    flex: 1;
  }
  .badge {
    display: inline-block;
    padding: 0.1rem 0.45rem;
    border-radius: 4px;
    font-size: 0.8em;
    font-weight: 700;
    background: var(--fc-panel);
  }
  .badge.live {
    background: var(--fc-accent);
    color: var(--fc-accent-text);
  }
  .pill {
    padding: 0.15rem 0.5rem;
    border-radius: 999px;
    background: var(--fc-panel);
    font-size: 0.85em;
  }
  .icon {
    min-width: 2.5rem;
    min-height: 2.5rem;
    padding: 0.3rem;
    border-radius: 999px;
    background: var(--fc-panel);
    font-size: 1.05em;
  }
  .menu {
    position: absolute;
    top: 3.2rem;
    right: 0.6rem;
    z-index: 6;
    min-width: 14rem;
    padding: 0.8rem;
    border-radius: var(--fc-radius);
    background: #1d1d1f;
    box-shadow: 0 8px 30px rgba(0, 0, 0, 0.5);
    display: grid;
    gap: 0.6rem;
  }
  .menu fieldset {
    border: 0;
    margin: 0;
    padding: 0;
    display: flex;
    gap: 0.3rem;
    flex-wrap: wrap;
  }
  .menu legend,
  .menu label {
    font-size: 0.85em;
    color: var(--fc-muted);
  }
  .seg[aria-pressed='true'] {
    background: var(--fc-accent);
    color: var(--fc-accent-text);
  }
  .banner {
    position: absolute;
    top: 3.2rem;
    left: 50%;
    transform: translateX(-50%);
    z-index: 5;
    padding: 0.35rem 0.8rem;
    border-radius: 999px;
    background: var(--fc-warn);
    color: #111;
    font-weight: 600;
    white-space: nowrap;
  }
  .announcement {
    align-self: stretch;
    padding: 0.4rem 0.6rem;
    border-radius: 8px;
    background: rgba(255, 176, 32, 0.9);
    color: #111;
    font-weight: 600;
  }
  .ticker {
    list-style: none;
    margin: 0;
    padding: 0;
    display: grid;
    gap: 0.25rem;
  }
  .ticker li {
    justify-self: start;
    padding: 0.2rem 0.55rem;
    border-radius: 999px;
    background: rgba(254, 44, 85, 0.85);
    font-size: 0.85em;
    font-weight: 600;
  }
  .chat {
    list-style: none;
    margin: 0;
    padding: 0;
    max-height: 28%;
    min-height: 3rem;
    overflow-y: auto;
    overscroll-behavior: contain;
    mask-image: linear-gradient(to bottom, transparent, #000 25%);
    display: flex;
    flex-direction: column;
    gap: 0.2rem;
  }
  .chat li {
    text-shadow: 0 1px 2px #000;
    overflow-wrap: anywhere;
  }
  .chat .name {
    font-weight: 700;
    color: #ffd6de;
    margin-inline-end: 0.35rem;
  }
  .chat .own .name {
    color: #9fe3b5;
  }
  .chat .staff {
    font-size: 0.7em;
    padding: 0 0.3rem;
    margin-inline-end: 0.3rem;
    border-radius: 3px;
    background: var(--fc-accent);
  }
  .card {
    display: grid;
    grid-template-columns: 4rem 1fr;
    gap: 0.6rem;
    padding: 0.55rem;
    border-radius: var(--fc-radius);
    background: rgba(255, 255, 255, 0.96);
    color: #111;
  }
  .card img,
  .card .noimg {
    width: 4rem;
    height: 4rem;
    border-radius: 8px;
    object-fit: cover;
    background: #ddd;
  }
  .card h2 {
    margin: 0;
    font-size: 0.95em;
    font-weight: 600;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .prices {
    display: flex;
    align-items: baseline;
    flex-wrap: wrap;
    gap: 0 0.45rem;
  }
  .price-main {
    font-size: 1.15em;
    font-weight: 800;
    color: var(--fc-accent);
  }
  .price-was {
    text-decoration: line-through;
    color: #777;
    font-size: 0.85em;
  }
  .price-seller {
    color: #555;
    font-size: 0.8em;
  }
  .deal-row {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    font-size: 0.85em;
    margin-top: 0.2rem;
  }
  .countdown {
    font-variant-numeric: tabular-nums;
    font-weight: 700;
  }
  .stockbar {
    flex: 1;
    height: 0.45rem;
    border-radius: 999px;
    background: #e4e4e4;
    overflow: hidden;
  }
  .stockbar > span {
    display: block;
    height: 100%;
    background: var(--fc-accent);
    transition: width 0.3s;
  }
  .bar {
    position: relative;
    z-index: 4;
    flex: 0 0 auto;
    display: grid;
    gap: 0.45rem;
    padding: 0.5rem 0.6rem calc(0.6rem + env(safe-area-inset-bottom, 0px));
    background: rgba(0, 0, 0, 0.82);
  }
  .chat-form {
    display: flex;
    gap: 0.4rem;
  }
  .chat-form input {
    flex: 1;
    min-width: 0;
    border-radius: 999px;
    padding-inline: 0.9rem;
  }
  .chat-note {
    font-size: 0.85em;
    color: var(--fc-muted);
    align-self: center;
    flex: 1;
  }
  .buy {
    width: 100%;
    min-height: 3.2rem;
    font-size: 1.1em;
    border-radius: 999px;
  }
  .buy.deal {
    animation: pulse 1.6s ease-in-out infinite;
  }
  @media (prefers-reduced-motion: reduce) {
    .buy.deal {
      animation: none;
    }
  }
  @keyframes pulse {
    50% {
      box-shadow: 0 0 0 6px rgba(254, 44, 85, 0.35);
    }
  }
  .sheet {
    position: absolute;
    left: 0;
    right: 0;
    bottom: 0;
    top: 3.2rem;
    z-index: 3;
    display: flex;
    flex-direction: column;
    justify-content: flex-end;
    pointer-events: none;
  }
  .sheet > .panel {
    pointer-events: auto;
    max-height: 100%;
    overflow-y: auto;
    overscroll-behavior: contain;
    padding: 0.9rem 0.9rem 1rem;
    border-radius: 16px 16px 0 0;
    background: #fff;
    color: #111;
    display: grid;
    gap: 0.7rem;
    box-shadow: 0 -8px 30px rgba(0, 0, 0, 0.4);
  }
  .panel h2 {
    margin: 0;
    font-size: 1.05em;
  }
  .panel p,
  .panel h3,
  .panel form {
    margin: 0;
  }
  .panel h3 {
    font-size: 0.95em;
  }
  .panel form {
    display: grid;
    gap: 0.55rem;
  }
  .panel .head {
    display: flex;
    align-items: center;
    gap: 0.5rem;
  }
  .panel .close {
    margin-inline-start: auto;
    background: #eee;
    color: #111;
    min-width: 2.5rem;
    min-height: 2.5rem;
  }
  .panel input,
  .panel select {
    background: #fff;
    color: #111;
    border-color: #bbb;
    width: 100%;
  }
  .panel label {
    display: grid;
    gap: 0.2rem;
    font-size: 0.85em;
    color: #333;
  }
  .panel .row {
    display: grid;
    grid-template-columns: 1fr 1fr;
    gap: 0.5rem;
  }
  .panel [aria-invalid='true'] {
    border-color: #c62828;
  }
  .panel .fault {
    color: #c62828;
    font-size: 0.85em;
  }
  .panel .muted {
    color: #666;
    font-size: 0.85em;
  }
  .totals {
    display: grid;
    grid-template-columns: 1fr auto;
    gap: 0.15rem 0.8rem;
    margin: 0;
  }
  .totals dt {
    color: #555;
  }
  .totals dd {
    margin: 0;
    text-align: end;
    font-variant-numeric: tabular-nums;
  }
  .totals .total {
    font-weight: 800;
    color: #111;
  }
  .methods {
    border: 0;
    margin: 0;
    padding: 0;
    display: grid;
    gap: 0.4rem;
  }
  .method {
    display: grid;
    grid-template-columns: auto 1fr;
    align-items: start;
    gap: 0.2rem 0.6rem;
    padding: 0.6rem;
    border: 1px solid #ccc;
    border-radius: 10px;
    font-size: 0.95em !important;
    color: #111 !important;
  }
  .method:has(input:checked) {
    border-color: var(--fc-accent);
    box-shadow: 0 0 0 1px var(--fc-accent);
  }
  .method input {
    width: auto;
    margin-top: 0.2rem;
  }
  .method ol {
    grid-column: 2;
    margin: 0;
    padding-inline-start: 1.1rem;
    color: #444;
    font-size: 0.85em;
  }
  .check {
    display: flex !important;
    align-items: center;
    gap: 0.5rem;
  }
  .check input {
    width: auto;
  }
  .status {
    padding: 0.7rem;
    border-radius: 10px;
    background: #f3f3f3;
    font-weight: 600;
  }
  .status[data-status='paid'] {
    background: #e3f7ea;
    color: #116b2f;
  }
  .status[data-status='failed'] {
    background: #fdecea;
    color: #a31515;
  }
  .panel a.link {
    color: #0a58ca;
    font-weight: 600;
  }
  .panel button:not(.close):not(.primary) {
    background: #eee;
    color: #111;
  }
`;
