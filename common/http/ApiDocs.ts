import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { assetPath } from '../paths.js';
import { renderApiDocs } from './apiDocsPage.js';
import type { HttpRouter } from './HttpRouter.js';
import { buildOpenApi, type OpenApiDocument, type OpenApiInfo } from './openApi.js';

/** The OpenAPI document's own shape, as far as a reader of `/openapi.json` may rely on it. */
const OpenApiSchema = z.object({
  openapi: z.literal('3.1.0'),
  info: z.object({ title: z.string(), version: z.string(), description: z.string() }),
  paths: z.record(z.record(z.unknown())),
  components: z.object({ schemas: z.record(z.unknown()), securitySchemes: z.record(z.unknown()) }),
  tags: z.array(z.object({ name: z.string() })),
});

/**
 * Serves the router's contract: `GET /openapi.json` (OpenAPI 3.1, generated from the declared
 * routes) and `GET /docs` (a self-contained page rendering it). Both are public (`api.read`).
 * The document is built on first request and again only when routes were added since
 * (a media backend can be attached to a running gateway).
 */
export class ApiDocs {
  readonly #info: OpenApiInfo;
  #router: HttpRouter | null = null;
  #cache: { routes: number; doc: OpenApiDocument; page: { html: string; csp: string } } | null = null;

  constructor(info: Partial<OpenApiInfo> = {}) {
    this.#info = { title: info.title ?? 'Flashcast HTTP API', version: info.version ?? packageVersion(), ...(info.description ? { description: info.description } : {}) };
  }

  /** The current document of the router it is registered on. */
  document(): OpenApiDocument {
    return this.#current().doc;
  }

  /** Adds `GET /openapi.json` and `GET /docs` to the router; they describe that router's routes. */
  register(router: HttpRouter): void {
    if (this.#router) throw new TypeError('ApiDocs is already registered');
    this.#router = router;
    router.add('GET', '/openapi.json', 'api.read', {
      summary: 'This document (OpenAPI 3.1)',
      tag: 'api',
      responses: { 200: OpenApiSchema },
    }, () => ({ status: 200, body: this.#current().doc, headers: { 'cache-control': 'no-cache', 'access-control-allow-origin': '*' } }));
    router.add('GET', '/docs', 'api.read', {
      summary: 'This document, readable (a self-contained HTML page)',
      tag: 'api',
      responses: { 200: { contentType: 'text/html', description: 'The page; its Content-Security-Policy lets only its own inline script run' } },
    }, () => {
      const { html, csp } = this.#current().page;
      return { status: 200, raw: html, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp, 'cache-control': 'no-cache' } };
    });
  }

  #current(): { doc: OpenApiDocument; page: { html: string; csp: string } } {
    if (!this.#router) throw new TypeError('ApiDocs is not registered on a router');
    const routes = this.#router.routes();
    if (this.#cache?.routes !== routes.length) {
      const doc = buildOpenApi(routes, this.#info);
      this.#cache = { routes: routes.length, doc, page: renderApiDocs(doc) };
    }
    return this.#cache;
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(assetPath(import.meta.url, '../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
