import { ZodType, type z } from 'zod';
import { Policy, isAction, type Action, type PolicyContext } from '../auth/Policy.js';
import type { Principal } from '../auth/TokenService.js';
import {
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  InvalidArgumentError,
  MethodNotAllowedError,
  NotFoundError,
  UnavailableError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import { isValidId } from '../keys.js';
import { logger } from '../logger.js';
import { errorResponse } from './HttpErrors.js';
import { IDEMPOTENCY_KEY_PATTERN, isReplayable, requestFingerprint, type IdempotencyStore, type StoredResponse } from './IdempotencyStore.js';

const log = logger('HttpRouter');

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** What a route handler sees. Everything is copied out of uWS before the handler runs. */
export interface ApiRequest<B = unknown, Q = unknown> {
  method: HttpMethod;
  path: string;
  /** Path parameters, each already checked against the one id pattern (common/keys.ts). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The query validated by the route's declared `query` schema (undefined when it declares none). */
  queryValues: Q;
  headers: Record<string, string>;
  /**
   * The body: validated by the route's declared `body` schema (zod's output, defaults applied;
   * an absent body is validated as `{}`), else the parsed JSON (undefined when empty or not JSON).
   */
  body: B;
  /** The body as text when its content type is not JSON (e.g. application/sdp for WHIP). */
  rawBody?: string;
  /** The body exactly as received (any content type), e.g. for a signature over it; undefined in-process. */
  text?: string;
  /** Verified bearer token, or null when none was sent. */
  principal: Principal | null;
  /** Client address as text. */
  remoteAddress: string;
  /** The action the route declared. */
  action: Action;
  /**
   * Asks the policy for the route's action with the facts the handler loaded (the route's
   * `:roomId` is added when present). Throws 401/403 when denied; resolves to the principal.
   */
  authorize(facts?: PolicyContext): Principal;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw body (e.g. Prometheus text, SDP); sent as is instead of JSON. */
  raw?: string | Uint8Array;
}

export type RouteHandler<B = unknown, Q = unknown> = (req: ApiRequest<B, Q>) => Promise<ApiResponse> | ApiResponse;

/** A declared response: a zod schema of its JSON body, null for no body (204), or a body of another type. */
export type ResponseSpec = z.ZodTypeAny | null | { contentType: string; description?: string; schema?: z.ZodTypeAny; headers?: Record<string, string> };

/**
 * What a route declares besides its action: its request and response schemas (the router
 * validates requests with them; the OpenAPI document is generated from them, common/http/openApi.ts)
 * and whether it honours `Idempotency-Key`. See docs/http-api.md.
 */
export interface RouteSpec<B extends z.ZodTypeAny | undefined = z.ZodTypeAny | undefined, Q extends z.ZodTypeAny | undefined = z.ZodTypeAny | undefined> {
  /** One line for the document. */
  summary: string;
  /** More, when one line is not enough. */
  description?: string;
  /** The document's group (e.g. 'catalog'); default: the path's first segment after /v1. */
  tag?: string;
  /** The request body, validated after the policy gate and before the handler (400 INVALID_ARGUMENT). JSON unless `bodyType`. */
  body?: B;
  /** A body that is not JSON (e.g. 'application/sdp'): another content type is 415; `body` then validates the text. */
  bodyType?: string;
  /** The query string: a z.object of string fields (coerce for numbers), validated like the body. */
  query?: Q;
  /** Success answers by status. Errors all have the one error shape and are documented for every route. */
  responses: Record<number, ResponseSpec>;
  /** Error statuses this route answers beyond the common ones, with when. */
  errors?: Record<number, string>;
  /**
   * The route creates something (POST only): a request with an `Idempotency-Key` header runs
   * once per caller and key; a retry with the same body gets the stored answer, with another
   * body 422 IDEMPOTENCY_KEY_REUSED, while the first still runs 409 IDEMPOTENCY_KEY_IN_USE.
   */
  idempotent?: boolean;
}

type Output<S> = S extends z.ZodTypeAny ? z.output<S> : unknown;

/** A registered route, as listed by `routes()` (the authorization matrix and the OpenAPI document are generated from it). */
export interface RouteInfo {
  method: HttpMethod;
  pattern: string;
  action: Action;
  /** What the route declared; undefined for a route registered without one (absent from the OpenAPI document). */
  spec?: RouteSpec;
}

/** One HTTP request as received, before routing. */
export interface HttpInput {
  method: string;
  /** Path without the query string. */
  path: string;
  query?: URLSearchParams;
  headers?: Record<string, string>;
  /** The body text as received; parsed as JSON when the content type is JSON or absent. */
  text?: string;
  /** An already-parsed body (in-process callers); used when `text` is not given. */
  body?: unknown;
  /** The verified caller, or a function that verifies the bearer token (may throw 401). */
  principal?: Principal | null | (() => Principal | null);
  remoteAddress?: string;
}

interface Route extends RouteInfo {
  segments: string[];
  /** The pattern with parameter names erased, to refuse duplicates. */
  shape: string;
  handler: RouteHandler<any, any>;
}

/**
 * The HTTP API's router: `/v1/rooms/:roomId/events`. Every route declares the policy action
 * it performs, and (for the OpenAPI document) its request and response schemas; `dispatch`
 * checks path ids, runs the policy's gate for that action, validates the body and query
 * against the declared schemas, honours `Idempotency-Key` on routes that create things, calls
 * the handler, and turns every error into the one error shape (HttpErrors).
 */
export class HttpRouter {
  readonly #routes: Route[] = [];
  #idempotency: IdempotencyStore | null = null;

  /**
   * Registers a handler for an action; `:name` segments become `params.name`. With a `spec`
   * the route is documented (OpenAPI), its body and query are validated before the handler and
   * typed in it, and `idempotent` turns on `Idempotency-Key`. A route without a known action,
   * a second route of the same method and shape, or a malformed spec is a TypeError.
   * A route registered without a spec is missing from the OpenAPI document (a test fails).
   */
  add(method: HttpMethod, pattern: string, action: Action, handler: RouteHandler): this;
  add<B extends z.ZodTypeAny | undefined = undefined, Q extends z.ZodTypeAny | undefined = undefined>(
    method: HttpMethod,
    pattern: string,
    action: Action,
    spec: RouteSpec<B, Q>,
    handler: RouteHandler<Output<B>, Output<Q>>,
  ): this;
  add(method: HttpMethod, pattern: string, action: Action, specOrHandler: RouteSpec | RouteHandler, maybeHandler?: RouteHandler<any, any>): this {
    const spec = typeof specOrHandler === 'function' ? undefined : specOrHandler;
    const handler = typeof specOrHandler === 'function' ? specOrHandler : maybeHandler;
    if (!METHODS.includes(method)) throw new TypeError(`unknown method ${String(method)}`);
    if (typeof pattern !== 'string' || !pattern.startsWith('/')) throw new TypeError('pattern must start with /');
    if (!isAction(action)) throw new TypeError(`route ${method} ${pattern} must declare a policy action (got ${String(action)})`);
    if (typeof handler !== 'function') throw new TypeError(`route ${method} ${pattern} needs a handler`);
    if (spec !== undefined) checkSpec(method, pattern, spec);
    const segments = pattern.split('/').slice(1);
    const shape = segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/');
    if (this.#routes.some((r) => r.method === method && r.shape === shape)) {
      throw new TypeError(`route ${method} ${pattern} is already registered`);
    }
    this.#routes.push({ method, pattern, action, spec, segments, shape, handler });
    return this;
  }

  /**
   * Where `Idempotency-Key` answers are kept (the composition root sets it once PostgreSQL is
   * open). Without one, an idempotent route given the header answers 503 rather than risk
   * running twice.
   */
  setIdempotencyStore(store: IdempotencyStore | null): void {
    this.#idempotency = store;
  }

  /** Every registered route with its action and declared spec. */
  routes(): RouteInfo[] {
    return this.#routes.map(({ method, pattern, action, spec }) => ({ method, pattern, action, spec }));
  }

  /** Finds the route for a request; `allowed` lists methods matching the path otherwise. */
  match(method: string, path: string): { route: RouteInfo; handler: RouteHandler<any, any>; params: Record<string, string | null> } | { allowed: HttpMethod[] } | null {
    const parts = path.split('/').slice(1);
    const allowed: HttpMethod[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { allowed } : null;
  }

  /** Routes, authorizes and runs one request. Never throws: every failure is `{error:{code,message}}`. */
  async dispatch(input: HttpInput): Promise<ApiResponse> {
    try {
      const match = this.match(input.method, input.path);
      if (!match) throw new NotFoundError('no such endpoint');
      if ('allowed' in match) {
        const response = errorResponse(new MethodNotAllowedError());
        return { ...response, headers: { ...response.headers, allow: match.allowed.join(', ') } };
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.params)) {
        if (value === null || !isValidId(value)) throw new InvalidArgumentError(`${name} is not a valid id`);
        params[name] = value;
      }
      const headers = input.headers ?? {};
      const spec = match.route.spec;
      let body = input.body;
      let rawBody: string | undefined;
      if (input.text !== undefined) {
        const contentType = headers['content-type'] ?? '';
        const json = spec?.bodyType === undefined && (contentType === '' || contentType.includes('json'));
        if (json && input.text.length > 0) {
          try {
            body = JSON.parse(input.text);
          } catch {
            throw new InvalidArgumentError('body is not valid JSON');
          }
        } else if (!json) {
          rawBody = input.text;
        }
      }
      const principal = typeof input.principal === 'function' ? input.principal() : (input.principal ?? null);
      const { action } = match.route;
      const roomFact: PolicyContext = params.roomId !== undefined ? { roomId: params.roomId } : {};
      const gate = Policy.gate(principal, action, roomFact);
      if (!gate.allow) throw gate.error;
      const query = input.query ?? new URLSearchParams();
      const request: ApiRequest = {
        method: input.method as HttpMethod,
        path: input.path,
        params,
        query,
        queryValues: spec?.query ? spec.query.parse(Object.fromEntries(query)) : undefined,
        headers,
        body: spec ? validBody(spec, headers, body, rawBody) : body,
        rawBody,
        text: input.text,
        principal,
        remoteAddress: input.remoteAddress ?? '',
        action,
        authorize: (facts: PolicyContext = {}) => Policy.require(principal, action, { ...roomFact, ...facts }),
      };
      const key = headers['idempotency-key'];
      if (spec?.idempotent && key !== undefined) {
        const fingerprint = requestFingerprint(request.method, request.path, query, body, rawBody);
        return await this.#once(principal?.userId ?? '', key, fingerprint, input.path, () => match.handler(request));
      }
      return await match.handler(request);
    } catch (error) {
      return errorResponse(error, { path: input.path });
    }
  }

  /**
   * Runs `run` once per (caller, key) with the idempotency store: replays a stored answer,
   * refuses a key used for another request (422) or still running (409), else runs and stores
   * the answer when it is definitive (IdempotencyStore `isReplayable`).
   */
  async #once(scope: string, key: string, fingerprint: string, path: string, run: () => Promise<ApiResponse> | ApiResponse): Promise<ApiResponse> {
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw new InvalidArgumentError('Idempotency-Key must be 1-255 printable ASCII characters');
    const store = this.#idempotency;
    if (!store) throw new UnavailableError('Idempotency-Key is not available on this node');
    const claim = await store.begin(scope, key, fingerprint).catch((err: unknown) => {
      log.warn({ err }, 'idempotency store unavailable');
      throw new UnavailableError('Idempotency-Key cannot be checked right now');
    });
    if (claim.kind === 'replay') return replay(claim.response);
    if (claim.kind === 'mismatch') throw new IdempotencyKeyReusedError();
    if (claim.kind === 'in_progress') throw new IdempotencyKeyInUseError();
    let response: ApiResponse;
    try {
      response = await run();
    } catch (error) {
      response = errorResponse(error, { path });
    }
    const stored = toStored(response);
    try {
      if (stored && isReplayable(response.status, response.headers)) await store.complete(scope, key, claim.lease, stored);
      else await store.release(scope, key, claim.lease);
    } catch (err) {
      // The answer stands; the key stays claimed until its lease lapses, then a retry runs again.
      log.error({ err, status: response.status }, 'idempotency answer not stored');
    }
    return response;
  }
}

/** Checks a spec at registration: a malformed one is a programming error (TypeError). */
function checkSpec(method: HttpMethod, pattern: string, spec: RouteSpec): void {
  const where = `route ${method} ${pattern}`;
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`${where}: spec must be an object`);
  if (typeof spec.summary !== 'string' || spec.summary.length === 0) throw new TypeError(`${where}: spec needs a summary`);
  if (spec.body !== undefined && !(spec.body instanceof ZodType)) throw new TypeError(`${where}: body must be a zod schema`);
  if (spec.query !== undefined && !(spec.query instanceof ZodType)) throw new TypeError(`${where}: query must be a zod schema`);
  const statuses = Object.keys(spec.responses ?? {});
  if (statuses.length === 0) throw new TypeError(`${where}: spec needs at least one response`);
  for (const status of statuses) {
    const n = Number(status);
    if (!Number.isInteger(n) || n < 100 || n > 399) throw new TypeError(`${where}: response ${status} is not a success status (errors have the one shape)`);
  }
  if (spec.idempotent && method !== 'POST') throw new TypeError(`${where}: only a POST can be idempotent`);
}

/** The body validated by the route's schema (a non-JSON body: its content type first, 415). */
function validBody(spec: RouteSpec, headers: Record<string, string>, body: unknown, rawBody: string | undefined): unknown {
  if (spec.bodyType !== undefined) {
    if (!(headers['content-type'] ?? '').startsWith(spec.bodyType)) throw new UnsupportedMediaTypeError(`content-type must be ${spec.bodyType}`);
    const text = rawBody ?? (typeof body === 'string' ? body : '');
    return spec.body ? spec.body.parse(text) : text;
  }
  return spec.body ? spec.body.parse(body ?? {}) : body;
}

/** A JSON answer as stored for replay; null when it cannot be (a raw body). */
function toStored(response: ApiResponse): StoredResponse | null {
  if (response.raw !== undefined) return null;
  return { status: response.status, headers: response.headers ?? {}, body: response.body === undefined ? null : JSON.stringify(response.body) };
}

/** A stored answer, marked as replayed (`idempotent-replayed: true`, as Stripe does). */
function replay(stored: StoredResponse): ApiResponse {
  const response: ApiResponse = { status: stored.status, headers: { ...stored.headers, 'idempotent-replayed': 'true' } };
  if (stored.body !== null) response.body = JSON.parse(stored.body);
  return response;
}

/** Params of a matching path (null for a segment that is empty or not valid percent-encoding), or null. */
function matchSegments(pattern: string[], parts: string[]): Record<string, string | null> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string | null> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    const v = parts[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = v.length === 0 ? null : decodeURIComponent(v);
      } catch {
        params[p.slice(1)] = null;
      }
    } else if (p !== v) {
      return null;
    }
  }
  return params;
}
