/**
 * The HTTP side of the uWebSockets.js app: reads a request (copied out before any await,
 * `onAborted` first, body size capped), answers CORS preflights, /healthz, /readyz and
 * /metrics, serves the built web pages (StaticSite) where no API route matches, hands
 * everything else to HttpRouter.dispatch, and is the one place that writes HTTP responses
 * (error bodies come from common/http/HttpErrors; CORS headers from CorsPolicy).
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { TokenService } from '../../common/auth/TokenService.js';
import { PayloadTooLargeError } from '../../common/errors.js';
import { errorResponse } from '../../common/http/HttpErrors.js';
import type { ApiResponse, HttpRouter } from '../../common/http/HttpRouter.js';
import type { CorsPolicy } from '../http/CorsPolicy.js';
import type { StaticSite } from '../http/StaticSite.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import { ClientAddress } from '../../common/http/ClientAddress.js';

export interface HttpAdapterOptions {
  app: TemplatedApp;
  router: HttpRouter;
  tokens: TokenService;
  metrics: GatewayMetrics;
  nodeId: string;
  maxBodyBytes: number;
  /** /readyz: true while the node takes traffic (not draining, Redis connected). */
  ready: () => boolean;
  /** Which pages of other origins may call the API. */
  cors: CorsPolicy;
  /** The web pages; null: none served. */
  site: StaticSite | null;
  /** Who the client is behind trusted load balancers (per-address limits). */
  clientAddress: ClientAddress;
}

/** Serves HTTP on the gateway's port: probes, metrics, the web pages and the router's API. */
export class HttpAdapter {
  readonly #options: HttpAdapterOptions;

  /** Registers the catch-all HTTP route on the app (`/ws` upgrades are the transport's). */
  constructor(options: HttpAdapterOptions) {
    this.#options = options;
    options.app.any('/*', (res, req) => this.#onRequest(res, req));
  }

  #onRequest(res: HttpResponse, req: HttpRequest): void {
    const { router, tokens, metrics, nodeId, maxBodyBytes, cors, site } = this.#options;
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const path = req.getUrl();
    const query = new URLSearchParams(req.getQuery() ?? '');
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const remoteAddress = this.#options.clientAddress.of(Buffer.from(res.getRemoteAddressAsText()).toString(), headers['x-forwarded-for']);
    const head = method === 'HEAD';
    const corsHeaders = cors.responseHeaders(headers.origin);
    const respond = (response: ApiResponse) => {
      if (!aborted) writeResponse(res, withHeaders(response, corsHeaders), head);
    };

    if (method === 'OPTIONS') {
      const preflight = cors.preflight(headers);
      if (preflight) return respond(preflight);
    }

    if (path === '/healthz') return respond({ status: 200, body: { ok: true, nodeId } });
    if (path === '/readyz') {
      const ready = this.#options.ready();
      return respond({ status: ready ? 200 : 503, body: { ready } });
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => respond({ status: 200, raw: text, headers: { 'content-type': metrics.registry.contentType } }),
        (error: unknown) => respond(errorResponse(error, { path })),
      );
      return;
    }
    // A page's file, where no API route matches (an API route is never shadowed by a file).
    if (site && (method === 'GET' || head)) {
      const page = site.answer(path, headers, req.getQuery() ?? '');
      if (page && router.match('GET', path) === null) return respond(page);
    }
    // Everything else is the router's: ids, the policy and the one error shape live there.
    const run = (text: string) => {
      const auth = headers.authorization ?? '';
      void router
        .dispatch({
          method,
          path,
          query,
          headers,
          text,
          remoteAddress,
          principal: () => (auth.startsWith('Bearer ') ? tokens.verifySync(auth.slice(7)) : null),
        })
        .then(respond);
    };
    const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      run('');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > maxBodyBytes) {
        tooLarge = true;
        respond(errorResponse(new PayloadTooLargeError(maxBodyBytes)));
        return;
      }
      // The chunk is neutered after this callback: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) run(Buffer.concat(chunks).toString('utf8'));
    });
  }
}

/**
 * Writes an ApiResponse (JSON body, or `raw`) to a uWS response, corked. For a HEAD request
 * (`head`) only the headers go out, with the length the body would have; a 304 has no body.
 */
export function writeResponse(res: HttpResponse, response: ApiResponse, head = false): void {
  res.cork(() => {
    res.writeStatus(statusLine(response.status));
    for (const [k, v] of Object.entries(response.headers ?? {})) res.writeHeader(k, v);
    let body: string | Uint8Array;
    if (response.raw !== undefined) {
      body = response.raw;
    } else {
      if (response.body !== undefined || response.status !== 304) res.writeHeader('content-type', 'application/json');
      body = response.body === undefined ? '' : JSON.stringify(response.body);
    }
    if (response.status === 304) {
      res.endWithoutBody();
    } else if (head) {
      // Written by hand: endWithoutBody(length) of this uWS build leaves the response open.
      res.writeHeader('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
      res.endWithoutBody();
    } else {
      res.end(body);
    }
  });
}

/** The response with `extra` headers added (CORS); `vary` values are merged, an answer's own CORS origin kept. */
function withHeaders(response: ApiResponse, extra: Record<string, string>): ApiResponse {
  if (Object.keys(extra).length === 0) return response;
  const own = response.headers ?? {};
  if (own['access-control-allow-origin'] !== undefined) return response;
  const vary = [own.vary, extra.vary].filter((v) => v !== undefined).join(', ');
  return { ...response, headers: { ...own, ...extra, ...(vary ? { vary } : {}) } };
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Status'}`;
}
