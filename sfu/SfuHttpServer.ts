import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { Principal, TokenService } from '../common/auth/TokenService.js';
import { logger } from '../common/logger.js';
import { FlashcastError, InternalError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../common/errors.js';
import { MediaInvalidError } from './errors.js';
import { SfuMetrics } from './SfuMetrics.js';
import type { SfuService } from './SfuService.js';
import { WhipEndpoint } from './WhipEndpoint.js';

const log = logger('SfuHttpServer');
const MAX_BODY = 64 * 1024;

/**
 * The HTTP face of a standalone SFU process (`flashcast sfu`): WHIP ingest
 * (POST /whip/:room, DELETE /whip/:room/:id) and /metrics, on node:http.
 */
export class SfuHttpServer {
  readonly whip: WhipEndpoint;
  readonly registry = new Registry();
  readonly #server: Server;
  readonly #tokens: TokenService;
  readonly #metrics: SfuMetrics;
  #closed = false;

  private constructor(sfu: SfuService, tokens: TokenService) {
    this.whip = new WhipEndpoint(sfu);
    this.#tokens = tokens;
    this.#metrics = new SfuMetrics(sfu, [this.registry]);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async create(sfu: SfuService, tokens: TokenService, host: string, port: number): Promise<SfuHttpServer> {
    const s = new SfuHttpServer(sfu, tokens);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
      s.#server.listen(port, host, () => resolve());
    });
    return s;
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.whip.close();
    this.#metrics.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'location', ...headers }).end(body);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://sfu');
      let parts: string[];
      try {
        parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
      } catch {
        throw new MediaInvalidError('malformed percent-encoding in the path');
      }
      if (req.method === 'OPTIONS') {
        return send(204, '', { 'access-control-allow-methods': 'POST, DELETE', 'access-control-allow-headers': 'authorization, content-type' });
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        return send(200, await this.registry.metrics(), { 'content-type': this.registry.contentType });
      }
      const auth = req.headers.authorization ?? '';
      const principal: Principal | null = auth.startsWith('Bearer ') ? await this.#tokens.verify(auth.slice(7)) : null;
      if (req.method === 'POST' && parts.length === 2 && parts[0] === 'whip') {
        if (!(req.headers['content-type'] ?? '').startsWith('application/sdp')) throw new UnsupportedMediaTypeError('content-type must be application/sdp');
        const body = await readBody(req);
        const { id, answer } = await this.whip.ingest(parts[1], principal, body);
        return send(201, answer, { 'content-type': 'application/sdp', location: `/whip/${encodeURIComponent(parts[1])}/${id}` });
      }
      if (req.method === 'DELETE' && parts.length === 3 && parts[0] === 'whip') {
        this.whip.end(parts[1], parts[2], principal);
        return send(200, '');
      }
      return send(404, JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such endpoint' } }), { 'content-type': 'application/json' });
    } catch (error) {
      if (!(error instanceof FlashcastError)) log.error({ err: error, method: req.method }, 'SFU HTTP handler failed');
      const e = error instanceof FlashcastError ? error : new InternalError();
      send(e.status, JSON.stringify({ error: { code: e.code, message: e.message } }), { 'content-type': 'application/json' });
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new PayloadTooLargeError(MAX_BODY));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
