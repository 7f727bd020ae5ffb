/**
 * Where the Flashcast gateway is, seen from a page: an explicit `server` attribute, else the
 * origin the script was loaded from (an embed on a shop's site talks to the server it came
 * from), else the page's own origin. Also reads the gateway's public page settings.
 */
import { HttpChannel } from '../../../client-sdk/HttpChannel.js';

/** What GET /v1/web/config answers (public). */
export interface WebConfig {
  /** The server runs on the development secret: pages may mint tokens through /v1/dev/tokens. */
  dev: boolean;
  /** Anonymous viewers may watch with a guest token (POST /v1/guest-tokens). */
  guests: boolean;
  /** The shop's own endpoint that returns `{token}` for its signed-in user (called with cookies). */
  tokenEndpoint: string | null;
  /** The gateway serves live video. */
  video: boolean;
  wsPath: string;
  whipPath: string;
}

/** The gateway's HTTP origin, e.g. `https://live.shop.example`. */
export function serverOrigin(explicit?: string | null, scriptUrl?: string): string {
  if (explicit) return new URL(explicit, location.href).origin;
  if (scriptUrl) {
    const url = new URL(scriptUrl);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  }
  return location.origin;
}

/** The WebSocket URL of a gateway origin: `https://h` → `wss://h/ws`. */
export function socketUrl(origin: string, wsPath = '/ws'): string {
  return `${origin.replace(/^http/, 'ws')}${wsPath}`;
}

/** A token-less JSON channel to the gateway (public routes). */
export function publicHttp(origin: string): HttpChannel {
  return new HttpChannel({ baseUrl: origin, token: () => '', timeoutMs: 10_000 });
}

const configs = new Map<string, Promise<WebConfig>>();

/** The gateway's page settings, fetched once per origin. */
export function webConfig(origin: string): Promise<WebConfig> {
  let config = configs.get(origin);
  if (!config) {
    config = publicHttp(origin).request<WebConfig>('GET', '/v1/web/config');
    configs.set(origin, config);
    config.catch(() => configs.delete(origin));
  }
  return config;
}
