import type { Principal } from '../auth/TokenService.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route handler sees. Everything is copied out of uWS before the handler runs. */
export interface ApiRequest {
  method: HttpMethod;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: unknown;
  /** The body as text when its content type is not JSON (e.g. application/sdp for WHIP). */
  rawBody?: string;
  /** Verified bearer token, or null when none was sent. */
  principal: Principal | null;
  /** Client address as text. */
  remoteAddress: string;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw body (e.g. Prometheus text, SDP); sent as is instead of JSON. */
  raw?: string | Uint8Array;
}

export type RouteHandler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

interface Route {
  method: HttpMethod;
  segments: string[];
  handler: RouteHandler;
}

/**
 * A small path router for the HTTP API: `/v1/rooms/:roomId/events`. Routes are
 * registered by each part of the server (gateway, commerce, SFU) on one router.
 */
export class HttpRouter {
  readonly #routes: Route[] = [];

  /** Registers a handler; `:name` segments become `params.name`. */
  add(method: HttpMethod, pattern: string, handler: RouteHandler): this {
    if (!pattern.startsWith('/')) throw new TypeError('pattern must start with /');
    this.#routes.push({ method, segments: pattern.split('/').slice(1), handler });
    return this;
  }

  /** Finds the route for a request; `allowed` lists methods matching the path otherwise. */
  match(method: string, path: string): { handler: RouteHandler; params: Record<string, string> } | { allowed: HttpMethod[] } | null {
    const parts = path.split('/').slice(1);
    const allowed: HttpMethod[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { allowed } : null;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    const v = parts[i];
    if (p.startsWith(':')) {
      if (v.length === 0) return null;
      try {
        params[p.slice(1)] = decodeURIComponent(v);
      } catch {
        return null;
      }
    } else if (p !== v) {
      return null;
    }
  }
  return params;
}
