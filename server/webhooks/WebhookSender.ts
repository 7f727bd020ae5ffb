import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebhookAddress } from './WebhookAddress.js';

/** What one POST to a receiver gave. */
export interface SendResult {
  /** A 2xx answer. */
  ok: boolean;
  statusCode: number | null;
  /** `http_<status>` for an answer that is not 2xx, else the network failure (`timeout`, `connection_refused`, ...); null when ok. */
  error: string | null;
  /** The first bytes of the answer (text), for ops. */
  response: string | null;
  durationMs: number;
}

export interface WebhookSenderOptions {
  /** Whole-attempt limit: connect, send, and the answer's status (default 10 s). */
  timeoutMs: number;
  /** Let deliveries reach loopback and private networks (development, tests). Default false. */
  allowPrivate: boolean;
  /** Bytes of the answer kept for ops (default 1024). */
  keepBytes: number;
}

/** A network failure's stable name, as recorded on the attempt. */
function failureName(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.code === 'ABORT_ERR') return 'timeout';
  switch (e?.code) {
    case 'EPRIVATEADDRESS': return 'private_address';
    case 'ECONNREFUSED': return 'connection_refused';
    case 'ECONNRESET': case 'EPIPE': return 'connection_reset';
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': return 'dns';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'unreachable';
    default:
      if (typeof e?.code === 'string' && /CERT|TLS|SSL|SELF_SIGNED/.test(e.code)) return 'tls';
      return `network: ${String(e?.code ?? (err as Error)?.message ?? err).slice(0, 100)}`;
  }
}

/**
 * Sends one webhook delivery: a JSON POST with a short timeout, no redirects followed (a 3xx
 * is a failure), a fresh connection each time, and (unless private networks are allowed) only
 * to public addresses, checked on every address the name resolves to. Never throws.
 */
export class WebhookSender {
  readonly #options: WebhookSenderOptions;

  constructor(options: Partial<WebhookSenderOptions> = {}) {
    this.#options = { timeoutMs: 10_000, allowPrivate: false, keepBytes: 1024, ...options };
  }

  /** POSTs `body` to `url` with `headers` (content type and length are added). */
  send(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = performance.now();
    const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({ ...r, durationMs: performance.now() - started });
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return Promise.resolve(done({ ok: false, statusCode: null, error: 'invalid_url', response: null }));
    }
    const host = WebhookAddress.host(u);
    if (!this.#options.allowPrivate && isIP(host) && !WebhookAddress.isPublic(host)) {
      return Promise.resolve(done({ ok: false, statusCode: null, error: 'private_address', response: null }));
    }
    const client = u.protocol === 'https:' ? https : http;
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (r: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        resolve(done(r));
      };
      const req = client.request(u, {
        method: 'POST',
        agent: false,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        lookup: this.#options.allowPrivate ? undefined : WebhookAddress.guardedLookup,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      }, (res) => {
        const statusCode = res.statusCode ?? 0;
        const ok = statusCode >= 200 && statusCode < 300;
        const chunks: Buffer[] = [];
        let kept = 0;
        const answer = () => {
          const text = Buffer.concat(chunks).subarray(0, this.#options.keepBytes).toString('utf8');
          finish({ ok, statusCode, error: ok ? null : `http_${statusCode}`, response: text.length > 0 ? text : null });
        };
        res.on('data', (chunk: Buffer) => {
          if (kept >= this.#options.keepBytes) return;
          chunks.push(chunk);
          kept += chunk.length;
          if (kept >= this.#options.keepBytes) {
            answer();
            res.destroy();
          }
        });
        res.on('end', answer);
        // The status decides: an answer cut short (timeout, reset) after its status line still counts.
        res.on('close', answer);
        res.on('error', () => undefined);
      });
      req.on('error', (err) => finish({ ok: false, statusCode: null, error: failureName(err), response: null }));
      req.end(body);
    });
  }
}
