import { Policy, isAction, type Action, type PolicyContext } from '../auth/Policy.js';
import type { Principal } from '../auth/TokenService.js';
import { InvalidArgumentError, MethodNotAllowedError, NotFoundError } from '../errors.js';
import { isValidId } from '../keys.js';
import { errorResponse } from './HttpErrors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** What a route handler sees. Everything is copied out of uWS before the handler runs. */
export interface ApiRequest {
  method: HttpMethod;
  path: string;
  /** Path parameters, each already checked against the one id pattern (common/keys.ts). */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: unknown;
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

export type RouteHandler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

/** A registered route, as listed by `routes()` (the authorization matrix is generated from it). */
export interface RouteInfo {
  method: HttpMethod;
  pattern: string;
  action: Action;
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
  handler: RouteHandler;
}

/**
 * The HTTP API's router: `/v1/rooms/:roomId/events`. Every route declares the policy action
 * it performs; `dispatch` checks path ids, runs the policy's gate for that action, calls the
 * handler, and turns every error into the one error shape (HttpErrors).
 */
export class HttpRouter {
  readonly #routes: Route[] = [];

  /**
   * Registers a handler for an action; `:name` segments become `params.name`. A route without
   * a known action, or a second route of the same method and shape, is a TypeError.
   */
  add(method: HttpMethod, pattern: string, action: Action, handler: RouteHandler): this {
    if (!METHODS.includes(method)) throw new TypeError(`unknown method ${String(method)}`);
    if (typeof pattern !== 'string' || !pattern.startsWith('/')) throw new TypeError('pattern must start with /');
    if (!isAction(action)) throw new TypeError(`route ${method} ${pattern} must declare a policy action (got ${String(action)})`);
    if (typeof handler !== 'function') throw new TypeError(`route ${method} ${pattern} needs a handler`);
    const segments = pattern.split('/').slice(1);
    const shape = segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/');
    if (this.#routes.some((r) => r.method === method && r.shape === shape)) {
      throw new TypeError(`route ${method} ${pattern} is already registered`);
    }
    this.#routes.push({ method, pattern, action, segments, shape, handler });
    return this;
  }

  /** Every registered route with its action. */
  routes(): RouteInfo[] {
    return this.#routes.map(({ method, pattern, action }) => ({ method, pattern, action }));
  }

  /** Finds the route for a request; `allowed` lists methods matching the path otherwise. */
  match(method: string, path: string): { route: RouteInfo; handler: RouteHandler; params: Record<string, string | null> } | { allowed: HttpMethod[] } | null {
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
      let body = input.body;
      let rawBody: string | undefined;
      if (input.text !== undefined) {
        const contentType = headers['content-type'] ?? '';
        const json = contentType === '' || contentType.includes('json');
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
      const request: ApiRequest = {
        method: input.method as HttpMethod,
        path: input.path,
        params,
        query: input.query ?? new URLSearchParams(),
        headers,
        body,
        rawBody,
        text: input.text,
        principal,
        remoteAddress: input.remoteAddress ?? '',
        action,
        authorize: (facts: PolicyContext = {}) => Policy.require(principal, action, { ...roomFact, ...facts }),
      };
      return await match.handler(request);
    } catch (error) {
      return errorResponse(error, { path: input.path });
    }
  }
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
