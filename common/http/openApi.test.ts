import { createHash } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CommerceErrorCode, ErrorCode, SettlementErrorCode, SfuErrorCode } from '../../protocol/codes.js';
import { apiSchema } from './apiSchema.js';
import { renderApiDocs } from './apiDocsPage.js';
import { ERROR_CODES } from './HttpErrors.js';
import { HttpRouter } from './HttpRouter.js';
import { buildOpenApi, undocumentedRoutes, type OpenApiDocument } from './openApi.js';

const Price = apiSchema('TestPrice', z.object({ amount: z.number().int(), currency: z.string() }).strict());
const Widget = apiSchema('TestWidget', z.object({ id: z.string(), price: Price, tags: z.array(z.string()), note: z.string().nullable() }).strict());
const Unused = apiSchema('TestUnused', z.object({ x: z.number() }));
void Unused;

function router(): HttpRouter {
  const r = new HttpRouter();
  r.add('POST', '/v1/shops/:shopId/widgets', 'product.write', {
    summary: 'Create a widget',
    tag: 'widgets',
    body: z.object({ name: z.string().max(10), price: Price, size: z.number().int().optional() }).strict(),
    responses: { 201: Widget },
    idempotent: true,
    errors: { 409: 'ALREADY_EXISTS' },
  }, () => ({ status: 201 }));
  r.add('GET', '/v1/widgets', 'fx.read', {
    summary: 'List widgets',
    query: z.object({ limit: z.coerce.number().int().max(50).optional(), kind: z.enum(['a', 'b']) }),
    responses: { 200: z.object({ widgets: z.array(Widget) }).strict() },
  }, () => ({ status: 200 }));
  r.add('PUT', '/v1/widgets/:widgetId', 'product.write', { summary: 'Replace', body: z.object({ note: z.string() }).partial(), responses: { 204: null } }, () => ({ status: 204 }));
  r.add('POST', '/whip/:roomId', 'whip.ingest', {
    summary: 'WHIP', body: z.string(), bodyType: 'application/sdp', responses: { 201: { contentType: 'application/sdp', headers: { location: 'the session' } } },
  }, () => ({ status: 201 }));
  return r;
}

const info = { title: 'Test API', version: '1.2.3' };

describe('buildOpenApi', () => {
  it('documents each declared route: path and query parameters, body, answers, errors, policy, idempotency', () => {
    const doc = buildOpenApi(router().routes(), info);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject(info);
    expect(Object.keys(doc.paths).sort()).toEqual(['/v1/shops/{shopId}/widgets', '/v1/widgets', '/v1/widgets/{widgetId}', '/whip/{roomId}']);
    const create = doc.paths['/v1/shops/{shopId}/widgets'].post as any;
    expect(create).toMatchObject({ operationId: 'post_v1_shops_by_shopId_widgets', summary: 'Create a widget', tags: ['widgets'], 'x-idempotent': true, security: [{ bearer: [] }] });
    expect(create['x-policy']).toMatchObject({ action: 'product.write', public: false, facts: ['ownerUserId'] });
    expect(create.description).toContain('product.write');
    expect(create.parameters).toEqual([
      { name: 'shopId', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } },
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
    ]);
    expect(create.requestBody).toMatchObject({
      required: true,
      content: { 'application/json': { schema: { type: 'object', required: ['name', 'price'], additionalProperties: false, properties: { price: { $ref: '#/components/schemas/TestPrice' } } } } },
    });
    expect(create.responses['201']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/TestWidget' } } }, headers: { 'Idempotent-Replayed': {} } });
    for (const status of ['400', '401', '403', '404', '409', '413', '422', 'default']) {
      expect(create.responses[status]?.content?.['application/json']?.schema, status).toEqual({ $ref: '#/components/schemas/Error' });
    }
    expect(create.responses['409'].description).toMatch(/^ALREADY_EXISTS; IDEMPOTENCY_KEY_IN_USE/);

    const list = doc.paths['/v1/widgets'].get as any;
    expect(list).toMatchObject({ tags: ['widgets'], security: [], 'x-policy': { action: 'fx.read', public: true }, 'x-idempotent': false });
    expect(list.parameters).toEqual([
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', maximum: 50 } },
      { name: 'kind', in: 'query', required: true, schema: { type: 'string', enum: ['a', 'b'] } },
    ]);
    expect(list.responses['401']).toBeUndefined();
    expect(list.requestBody).toBeUndefined();

    const put = doc.paths['/v1/widgets/{widgetId}'].put as any;
    expect(put.requestBody.required).toBe(false);
    expect(put.responses['204']).toEqual({ description: 'No Content' });

    const whip = doc.paths['/whip/{roomId}'].post as any;
    expect(whip.requestBody).toEqual({ required: false, content: { 'application/sdp': { schema: { type: 'string' } } } });
    expect(whip.responses['201']).toMatchObject({ content: { 'application/sdp': {} }, headers: { location: { description: 'the session' } } });
    expect(whip.responses['415']).toBeDefined();
  });

  it('puts named schemas in components (those used, and what they use), with the one error shape and every stable code', () => {
    const doc = buildOpenApi(router().routes(), info);
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Error', 'ErrorCode', 'TestPrice', 'TestWidget']);
    expect(doc.components.schemas.TestWidget).toMatchObject({
      type: 'object',
      properties: { price: { $ref: '#/components/schemas/TestPrice' }, note: { type: ['string', 'null'] } },
      additionalProperties: false,
    });
    expect(doc.components.schemas.Error).toMatchObject({ properties: { error: { properties: { code: { $ref: '#/components/schemas/ErrorCode' } }, required: ['code', 'message'] } } });
    const codes = (doc.components.schemas.ErrorCode as { enum: string[] }).enum;
    for (const group of [ErrorCode, CommerceErrorCode, SettlementErrorCode, SfuErrorCode]) {
      for (const code of Object.values(group)) expect(codes).toContain(code);
    }
    expect(codes).toEqual(ERROR_CODES);
    expect(codes).toContain('IDEMPOTENCY_KEY_REUSED');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('finds the routes missing from the document (a route registered without a spec)', () => {
    const r = router();
    r.add('DELETE', '/v1/widgets/:widgetId', 'product.write', () => ({ status: 204 }));
    const doc = buildOpenApi(r.routes(), info);
    expect(undocumentedRoutes(r.routes(), doc)).toEqual(['DELETE /v1/widgets/:widgetId']);
    const removed = structuredClone(doc) as OpenApiDocument;
    delete removed.paths['/v1/widgets'];
    expect(undocumentedRoutes(r.routes(), removed)).toEqual(['GET /v1/widgets', 'DELETE /v1/widgets/:widgetId']);
  });

  it('is valid JSON Schema 2020-12 where it holds schemas, and a validator built from it catches a wrong answer', () => {
    const doc = buildOpenApi(router().routes(), info);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'openapi.json');
    const validate = ajv.compile({ $ref: 'openapi.json#/paths/~1v1~1shops~1{shopId}~1widgets/post/responses/201/content/application~1json/schema' });
    expect(validate({ id: 'w1', price: { amount: 1, currency: 'USD' }, tags: [], note: null })).toBe(true);
    expect(validate({ id: 'w1', price: { amount: 1.5, currency: 'USD' }, tags: [], note: null })).toBe(false);
    expect(validate({ id: 'w1', price: { amount: 1, currency: 'USD' }, tags: [], note: null, extra: 1 })).toBe(false);
    const error = ajv.compile({ $ref: 'openapi.json#/components/schemas/Error' });
    expect(error({ error: { code: 'SOLD_OUT', message: 'x' } })).toBe(true);
    expect(error({ error: { code: 'MADE_UP_CODE', message: 'x' } })).toBe(false);
  });
});

describe('renderApiDocs', () => {
  it('is one self-contained page whose only script is allowed by its CSP hash, and the document cannot break out of its element', () => {
    const doc = buildOpenApi(router().routes(), { ...info, description: 'evil </script><script>alert(1)</script>' });
    const { html, csp } = renderApiDocs(doc);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    expect(csp).toContain(`'sha256-${createHash('sha256').update(scripts[0]).digest('base64')}'`);
    expect(csp).toContain("default-src 'none'");
    expect(html).not.toMatch(/https?:\/\/(?!json-schema)/);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const data = html.match(/<script type="application\/json" id="spec">([\s\S]*?)<\/script>/)![1];
    expect(JSON.parse(data)).toEqual(doc);
  });
});
