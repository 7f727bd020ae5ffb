/**
 * The web pages the gateway serves (the viewer, studio and ops console built by Vite into
 * dist/public): every file found at startup, read and gzipped once, kept in memory. Only
 * those files are served (a map from URL path to file), so no request can reach another.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlib } from 'node:zlib';
import { InvalidArgumentError, NotFoundError } from '../../common/errors.js';
import { errorResponse } from '../../common/http/HttpErrors.js';
import type { ApiResponse } from '../../common/http/HttpRouter.js';
import { logger } from '../../common/logger.js';

const log = logger('StaticSite');
const gzip = promisify(gzipCallback);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Types worth gzipping (images and fonts are compressed already). */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.webmanifest', '.txt', '.svg', '.wasm']);

/** Paths the pages live under: with no built site they answer "run npm run build". */
const PAGE_DIRS = ['/watch', '/studio', '/ops'];
const FILE_PREFIXES = ['/assets/', '/embed/', '/sdk/'];

/** Paths that belong to the API: never the site's, whatever is in the folder. */
const API_PREFIXES = ['/v1', '/whip', '/ws'];

/**
 * A content-hashed file as Vite writes them (`assets/index-B3kX9a_Q.js`, `sdk/chunks/Viewer-C-q9NRYG.js`):
 * its URL changes with its content, so it may be cached for ever. Entries keep a fixed name.
 */
const HASHED = /\/(?:assets|chunks)\/(?:[^/]+\/)*[^/]+-[A-Za-z0-9_-]{8}\.[A-Za-z0-9]+$/;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface SiteFile {
  body: Buffer;
  /** The gzipped body, when smaller. */
  gzip: Buffer | null;
  etag: string;
  headers: Record<string, string>;
}

export interface StaticSiteOptions {
  /** The built site; default dist/public next to the compiled server (see `defaultRoot`). */
  root?: string;
}

/** Serves the built web pages from memory: content types, ETags, cache headers, gzip, HEAD. */
export class StaticSite {
  /** URL path → file; a directory's `/dir/` maps to its index.html. */
  readonly #files: Map<string, SiteFile>;
  /** Directories with an index.html, without their trailing slash (`/watch`): redirected to `/watch/`. */
  readonly #directories: Set<string>;
  readonly #root: string;
  readonly #built: boolean;

  private constructor(root: string, built: boolean, files: Map<string, SiteFile>, directories: Set<string>) {
    this.#root = root;
    this.#built = built;
    this.#files = files;
    this.#directories = directories;
  }

  /**
   * Reads every file under `root` (dotfiles and symbolic links skipped) and gzips what
   * compresses. A missing folder is not an error: the pages then answer 404 saying to build.
   */
  static async create(options: StaticSiteOptions = {}): Promise<StaticSite> {
    const root = options.root ?? StaticSite.defaultRoot();
    const files = new Map<string, SiteFile>();
    const directories = new Set<string>();
    if (!existsSync(root)) {
      log.warn({ root }, 'no built web pages: run `npm run build`');
      return new StaticSite(root, false, files, directories);
    }
    for (const relative of await listFiles(root, '')) {
      const urlPath = `/${relative}`;
      const file = await loadFile(join(root, relative), urlPath);
      files.set(urlPath, file);
      if (urlPath.endsWith('/index.html')) {
        const dir = urlPath.slice(0, -'index.html'.length);
        files.set(dir, file);
        if (dir !== '/') directories.add(dir.slice(0, -1));
      }
    }
    log.info({ root, files: files.size }, 'web pages loaded');
    return new StaticSite(root, true, files, directories);
  }

  /**
   * Where `npm run build` puts the pages: dist/public. From the compiled file
   * (dist/server/http/) that is ../../public; from the sources (tests), ../../dist/public.
   */
  static defaultRoot(): string {
    const here = dirname(fileURLToPath(import.meta.url));
    const compiled = join(here, '..', '..', 'public');
    const fromSource = join(here, '..', '..', 'dist', 'public');
    return existsSync(compiled) || !existsSync(fromSource) ? compiled : fromSource;
  }

  /** The folder served. */
  get root(): string {
    return this.#root;
  }

  /** False when the folder was missing at startup (the pages were not built). */
  get built(): boolean {
    return this.#built;
  }

  /** URL paths served (directories as `/dir/`). */
  paths(): string[] {
    return [...this.#files.keys()].sort();
  }

  /**
   * The answer to a GET or HEAD of `path` (no query string), or null when the path is not the
   * site's (the API's router answers it). `query` is kept on a directory's redirect.
   */
  answer(path: string, headers: Record<string, string>, query = ''): ApiResponse | null {
    if (API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return null;
    let lookup = path;
    if (path.includes('%')) {
      // Encoded dots and NULs have no business in a page's URL: refused, not decoded into a path.
      if (/%(?:2e|00|2f|5c)/i.test(path)) return errorResponse(new InvalidArgumentError('bad path'));
      try {
        lookup = decodeURIComponent(path);
      } catch {
        return errorResponse(new InvalidArgumentError('bad path'));
      }
    }
    if (lookup.includes('\0') || lookup.includes('\\') || /(?:^|\/)\.\.?(?:\/|$)/.test(lookup)) {
      return errorResponse(new InvalidArgumentError('bad path'));
    }
    const file = this.#files.get(lookup);
    if (file) return this.#serve(file, headers);
    if (this.#directories.has(lookup)) {
      return { status: 301, headers: { location: `${path}/${query ? `?${query}` : ''}`, 'cache-control': REVALIDATE } };
    }
    if (!this.#built && isPagePath(lookup)) {
      return errorResponse(new NotFoundError('the web pages are not built: run `npm run build` (it builds them into dist/public)'));
    }
    return null;
  }

  #serve(file: SiteFile, headers: Record<string, string>): ApiResponse {
    const gzipped = file.gzip !== null && acceptsGzip(headers['accept-encoding'] ?? '');
    const etag = gzipped ? `${file.etag.slice(0, -1)}-gz"` : file.etag;
    const common = { ...file.headers, etag };
    if (matchesEtag(headers['if-none-match'], etag)) return { status: 304, headers: common };
    if (gzipped) return { status: 200, headers: { ...common, 'content-encoding': 'gzip' }, raw: file.gzip! };
    return { status: 200, headers: common, raw: file.body };
  }
}

function isPagePath(path: string): boolean {
  return path === '/' || path === '/index.html' || PAGE_DIRS.some((p) => path === p || path.startsWith(`${p}/`)) || FILE_PREFIXES.some((p) => path.startsWith(p));
}

/** Files below `dir` as paths relative to `root`, with `/` separators; dotfiles and links skipped. */
async function listFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, relative)));
    else if (entry.isFile() && (await lstat(join(root, relative))).isFile()) out.push(relative);
  }
  return out;
}

async function loadFile(file: string, urlPath: string): Promise<SiteFile> {
  const body = await readFile(file);
  const ext = extname(file).toLowerCase();
  let gz: Buffer | null = null;
  if (COMPRESSIBLE.has(ext) && body.length >= 256) {
    const packed = await gzip(body, { level: zlib.Z_BEST_COMPRESSION });
    if (packed.length < body.length * 0.9) gz = packed;
  }
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'cache-control': HASHED.test(urlPath) ? IMMUTABLE : REVALIDATE,
    'x-content-type-options': 'nosniff',
  };
  if (gz) headers.vary = 'Accept-Encoding';
  // Scripts, styles and fonts are public: a shop's page may load them as modules (CORS mode).
  if (FILE_PREFIXES.some((p) => urlPath.startsWith(p))) headers['access-control-allow-origin'] = '*';
  // The studio and the ops console are control panels: never inside another site's frame.
  if (urlPath.startsWith('/studio/') || urlPath.startsWith('/ops/')) headers['content-security-policy'] = "frame-ancestors 'none'";
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzip: gz, etag, headers };
}

/** True when Accept-Encoding allows gzip (`gzip` or `*` without q=0). */
function acceptsGzip(header: string): boolean {
  let star: boolean | null = null;
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';').map((s) => s.trim());
    const q = params.find((p) => p.startsWith('q='));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip' || name === 'x-gzip') return allowed;
    if (name === '*') star = allowed;
  }
  return star === true;
}

/** If-None-Match against an ETag (weak comparison, as RFC 9110 asks for it). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
