/**
 * The HTTP side of the uWebSockets.js app: reads a request (copied out before any await,
 * `onAborted` first, body size capped), answers /healthz, /readyz and /metrics, hands
 * everything else to HttpRouter.dispatch, and is the one place that writes HTTP responses
 * (error bodies come from common/http/HttpErrors).
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { TokenService } from '../../common/auth/TokenService.js';
import { PayloadTooLargeError } from '../../common/errors.js';
import { errorResponse } from '../../common/http/HttpErrors.js';
import type { ApiResponse, HttpRouter } from '../../common/http/HttpRouter.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';

export interface HttpAdapterOptions {
  app: TemplatedApp;
  router: HttpRouter;
  tokens: TokenService;
  metrics: GatewayMetrics;
  nodeId: string;
  maxBodyBytes: number;
  /** /readyz: true while the node takes traffic (not draining, Redis connected). */
  ready: () => boolean;
}

/** Serves HTTP on the gateway's port: probes, metrics and the router's API. */
export class HttpAdapter {
  readonly #options: HttpAdapterOptions;

  /** Registers the catch-all HTTP route on the app (`/ws` upgrades are the transport's). */
  constructor(options: HttpAdapterOptions) {
    this.#options = options;
    options.app.any('/*', (res, req) => this.#onRequest(res, req));
  }

  #onRequest(res: HttpResponse, req: HttpRequest): void {
    const { router, tokens, metrics, nodeId, maxBodyBytes } = this.#options;
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
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    const respond = (response: ApiResponse) => {
      if (!aborted) writeResponse(res, response);
    };

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

/** Writes an ApiResponse (JSON body, or `raw`) to a uWS response, corked. */
export function writeResponse(res: HttpResponse, response: ApiResponse): void {
  res.cork(() => {
    res.writeStatus(statusLine(response.status));
    for (const [k, v] of Object.entries(response.headers ?? {})) res.writeHeader(k, v);
    if (response.raw !== undefined) {
      res.end(response.raw);
    } else {
      res.writeHeader('content-type', 'application/json');
      res.end(response.body === undefined ? '' : JSON.stringify(response.body));
    }
  });
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
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
