/**
 * The embeddable viewer: `<script type="module" src="https://live.example/embed/flashcast-live.js">`
 * defines `<flashcast-live room="…">`. Served at /embed/flashcast-live.js.
 */
import './viewer/FlashcastLive.js';
