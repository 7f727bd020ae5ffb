import type { z } from 'zod';
import { ignoreOverride, zodToJsonSchema } from 'zod-to-json-schema';
import { Policy } from '../auth/Policy.js';
import { ID_PATTERN } from '../keys.js';
import { namedSchema, schemaName } from './apiSchema.js';
import { ErrorBodySchema } from './HttpErrors.js';
import type { ResponseSpec, RouteInfo, RouteSpec } from './HttpRouter.js';
import { IDEMPOTENCY_KEY_PATTERN } from './IdempotencyStore.js';

/** A JSON Schema or OpenAPI object, as built here. */
export type Json = Record<string, unknown>;

/** An OpenAPI 3.1 document (the parts this generator writes). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
  tags: { name: string }[];
}

/** The document's title, version and introduction. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

const ERROR_REF = '#/components/schemas/Error';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  400: 'Invalid argument (INVALID_ARGUMENT: a path id, the body or the query; `details.issues` lists what)',
  401: 'No token, or one that is invalid or expired (UNAUTHORIZED, TOKEN_EXPIRED)',
  403: 'The policy refused (FORBIDDEN, ROOM_NOT_ALLOWED, BANNED, AFFILIATE_PLAN_REQUIRED)',
  404: 'Not found (NOT_FOUND or the resource\'s own code, e.g. ORDER_NOT_FOUND)',
  409: 'IDEMPOTENCY_KEY_IN_USE: a request with this key is still running; retry after `retry-after`',
  413: 'Body over the size limit (FRAME_TOO_LARGE)',
  415: 'Wrong content type',
  422: 'IDEMPOTENCY_KEY_REUSED: this key was already used by this caller for another request',
  429: 'Rate limited (retry after `retry-after`)',
  503: 'Unavailable for now (UNAVAILABLE, PAYMENT_UNAVAILABLE); retry',
};

const INTRO = [
  'The Flashcast HTTP API. Generated from the zod schemas that validate each request, so it cannot drift from the code.',
  '',
  '- **Tokens**: `Authorization: Bearer <JWT>` (see docs/security.md). Each operation names its policy action in `x-policy`: who may call it, and whether a token is needed.',
  '- **Errors**: every error, of every operation, is `{"error": {"code", "message", "details"?}}` (schema `Error`); `code` is one of the stable codes in `ErrorCode` (protocol/codes.ts). Switch on `code`, never on `message`.',
  '- **Idempotency**: operations marked `x-idempotent` take an `Idempotency-Key` header (Stripe\'s semantics): the same key and body from the same caller get the stored answer (`idempotent-replayed: true`) for 24 hours; another body 422 `IDEMPOTENCY_KEY_REUSED`; while the first runs, 409 `IDEMPOTENCY_KEY_IN_USE`. Answers that say to retry (5xx, 429, `retry-after`) are not stored.',
  '- **Probes**: `/healthz`, `/readyz` and `/metrics` (Prometheus text) are served by the gateway outside this API.',
].join('\n');

/**
 * Builds the OpenAPI 3.1 document of the routes that declared a spec (HttpRouter.add with a
 * RouteSpec): paths and parameters, request bodies and responses from their zod schemas (named
 * ones, apiSchema, become `components.schemas`), the one error shape with every stable error
 * code, the policy action of each operation (`x-policy`, and `security` unless public) and
 * whether it takes `Idempotency-Key`. Routes without a spec are left out: see `undocumentedRoutes`.
 */
export function buildOpenApi(routes: readonly RouteInfo[], info: OpenApiInfo): OpenApiDocument {
  const refs = new Set<string>(['Error']);
  const paths: Record<string, Record<string, Json>> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    if (!route.spec) continue;
    const path = openApiPath(route.pattern);
    const tag = route.spec.tag ?? defaultTag(route.pattern);
    tags.add(tag);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, route.spec, tag, refs);
  }
  const schemas: Record<string, Json> = {};
  // Named schemas referenced so far, and the ones they reference, until none is new.
  for (let pending = [...refs]; pending.length > 0; pending = [...refs].filter((n) => !(n in schemas))) {
    for (const name of pending) schemas[name] = toJsonSchema(namedOrThrow(name), refs, name);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description ?? INTRO },
    paths: sortKeys(paths),
    components: {
      schemas: sortKeys(schemas),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Flashcast token (TokenService): role, rooms, region.' } },
    },
    tags: [...tags].sort().map((name) => ({ name })),
  };
}

/** `METHOD pattern` of every route missing from the document (routes registered without a spec). */
export function undocumentedRoutes(routes: readonly RouteInfo[], doc: Pick<OpenApiDocument, 'paths'>): string[] {
  return routes
    .filter((r) => doc.paths[openApiPath(r.pattern)]?.[r.method.toLowerCase()] === undefined)
    .map((r) => `${r.method} ${r.pattern}`);
}

/** `/v1/rooms/:roomId` → `/v1/rooms/{roomId}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:(\w+)/g, '{$1}');
}

function operation(route: RouteInfo, spec: RouteSpec, tag: string, refs: Set<string>): Json {
  const policy = Policy.describe(route.action);
  const parameters: Json[] = [];
  for (const [, name] of route.pattern.matchAll(/:(\w+)/g)) {
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string', pattern: ID_PATTERN.source } });
  }
  if (spec.query) {
    const q = toJsonSchema(spec.query, refs);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, Json> | undefined) ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'query', required: required.has(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  if (spec.idempotent) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Makes a retry safe: the same key and body from the same caller get the stored answer for 24 h (a UUID is a good key).',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
    });
  }
  const op: Json = {
    operationId: operationId(route),
    summary: spec.summary,
    description: [spec.description, policyLine(policy)].filter(Boolean).join('\n\n'),
    tags: [tag],
    ...(parameters.length > 0 ? { parameters } : {}),
  };
  if (spec.body || spec.bodyType) {
    const contentType = spec.bodyType ?? 'application/json';
    const schema = spec.body ? toJsonSchema(spec.body, refs) : { type: 'string' };
    const required = spec.body ? !spec.body.safeParse(spec.bodyType ? '' : {}).success : true;
    op.requestBody = { required, content: { [contentType]: { schema } } };
  }
  op.responses = responses(route, spec, policy.public, refs);
  op.security = policy.public ? [] : [{ bearer: [] }];
  op['x-policy'] = policy;
  op['x-idempotent'] = spec.idempotent === true;
  return op;
}

function responses(route: RouteInfo, spec: RouteSpec, isPublic: boolean, refs: Set<string>): Json {
  const out: Record<string, Json> = {};
  for (const [status, declared] of Object.entries(spec.responses)) out[status] = successResponse(Number(status), declared, spec.idempotent === true, refs);
  const errors: Record<number, string> = { 400: STATUS_TEXT[400] };
  if (!isPublic) Object.assign(errors, { 401: STATUS_TEXT[401], 403: STATUS_TEXT[403] });
  if (route.pattern.includes(':')) errors[404] = STATUS_TEXT[404];
  if (spec.body && !spec.bodyType) errors[413] = STATUS_TEXT[413];
  if (spec.bodyType) errors[415] = STATUS_TEXT[415];
  if (spec.idempotent) Object.assign(errors, { 409: STATUS_TEXT[409], 422: STATUS_TEXT[422], 503: STATUS_TEXT[503] });
  for (const [status, text] of Object.entries(spec.errors ?? {})) {
    const n = Number(status);
    // A route's own reasons come first; the idempotency ones stay.
    errors[n] = spec.idempotent && errors[n] !== undefined && [409, 503].includes(n) ? `${text}; ${errors[n]}` : text;
  }
  for (const [status, description] of Object.entries(errors)) out[status] = errorResponse(description);
  out.default = errorResponse('Any other error (500 INTERNAL: nothing about the cause is sent)');
  return out;
}

function successResponse(status: number, declared: ResponseSpec, idempotent: boolean, refs: Set<string>): Json {
  const headers: Record<string, Json> = {};
  if (idempotent) headers['Idempotent-Replayed'] = { description: '`true` when this is the stored answer of an earlier request with the same key', schema: { type: 'string', enum: ['true'] } };
  let description = STATUS_TEXT[status] ?? String(status);
  let content: Json | undefined;
  if (isZod(declared)) {
    content = { 'application/json': { schema: toJsonSchema(declared, refs) } };
  } else if (declared !== null) {
    if (declared.description) description = declared.description;
    content = { [declared.contentType]: declared.schema ? { schema: toJsonSchema(declared.schema, refs) } : {} };
    for (const [name, text] of Object.entries(declared.headers ?? {})) headers[name] = { description: text, schema: { type: 'string' } };
  }
  return { description, ...(Object.keys(headers).length > 0 ? { headers } : {}), ...(content ? { content } : {}) };
}

function errorResponse(description: string): Json {
  return { description, content: { 'application/json': { schema: { $ref: ERROR_REF } } } };
}

function isZod(value: ResponseSpec): value is z.ZodTypeAny {
  return value !== null && typeof (value as z.ZodTypeAny).safeParse === 'function';
}

/**
 * A zod schema as JSON Schema (2019-09 keywords, valid in OpenAPI 3.1): named schemas become
 * `$ref`s to `components.schemas` (recorded in `refs`), except `self` at the root; a request
 * schema's transforms are described by their input.
 */
function toJsonSchema(schema: z.ZodTypeAny, refs: Set<string>, self?: string): Json {
  const out = zodToJsonSchema(schema, {
    target: 'jsonSchema2019-09',
    $refStrategy: 'none',
    effectStrategy: 'input',
    override: (def) => {
      const name = schemaName(def);
      if (name === undefined || (name === self && def === schema._def)) return ignoreOverride;
      refs.add(name);
      return { $ref: `#/components/schemas/${name}` };
    },
  }) as Json;
  delete out.$schema;
  return out;
}

function namedOrThrow(name: string): z.ZodTypeAny {
  if (name === 'Error') return ErrorBodySchema;
  const schema = namedSchema(name);
  if (!schema) throw new TypeError(`no schema named ${name}`);
  return schema;
}

function policyLine(p: ReturnType<typeof Policy.describe>): string {
  if (p.public) return `Policy: \`${p.action}\`, public (no token needed).`;
  const scope = p.scope === 'room' ? ', the token\'s rooms must include the room' : p.scope === 'host' ? ', a host token naming the room' : p.scope === 'staff' ? ', a host or moderator token naming the room' : '';
  const facts = p.facts.length > 0 ? `; checked with: ${p.facts.join(', ')}` : '';
  const guests = p.guests ? '; guest tokens too' : '';
  const key = p.streamKey ? '; a stream key too' : '';
  return `Policy: \`${p.action}\`, a token of role ${p.roles.join(', ')}${scope}${p.ban ? ', not banned' : ''}${facts}${guests}${key} (docs/security.md).`;
}

function operationId(route: RouteInfo): string {
  const words = route.pattern.split('/').filter(Boolean).map((s) => (s.startsWith(':') ? `by_${s.slice(1)}` : s.replace(/[^A-Za-z0-9]+/g, '_')));
  return [route.method.toLowerCase(), ...words].join('_');
}

function defaultTag(pattern: string): string {
  const parts = pattern.split('/').filter(Boolean);
  return (parts[0] === 'v1' ? parts[1] : parts[0]) ?? 'api';
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
