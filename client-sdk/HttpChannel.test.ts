import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpChannel, httpBaseUrl } from './HttpChannel.js';
import { FlashcastRequestError } from './errors.js';
import { paymentActionOf, nextStepOf } from './checkout.js';

/** A real HTTP server answering as the gateway does (the one error shape), recording what it got. */
let server: Server;
let base: string;
const seen: { method: string; url: string; auth: string; body: string }[] = [];
beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization ?? '', body });
      if (req.url === '/ok') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ orders: [] }));
      if (req.url === '/declined') {
        return void res.writeHead(402, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'PAYMENT_DECLINED', message: 'the payment was declined', details: { orderId: 'o1', retryAfterMs: 0 } } }));
      }
      if (req.url === '/busy') return void res.writeHead(503, { 'retry-after': '2' }).end('not json');
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('HttpChannel (the SDK over HTTP)', () => {
  it('derives the API origin from a gateway URL', () => {
    expect(httpBaseUrl('wss://live.example.com/ws')).toBe('https://live.example.com');
    expect(httpBaseUrl('ws://127.0.0.1:8080/ws?x=1')).toBe('http://127.0.0.1:8080');
  });

  it('sends JSON with a fresh bearer token each time; answers JSON; turns the error shape into a FlashcastRequestError', async () => {
    let n = 0;
    const api = new HttpChannel({ baseUrl: base, token: async () => `t${++n}`, timeoutMs: 5_000 });
    expect(await api.request('POST', '/ok', { method: 'card' })).toEqual({ orders: [] });
    expect(await api.request('GET', '/empty')).toBeUndefined();
    expect(seen.slice(-2)).toEqual([
      { method: 'POST', url: '/ok', auth: 'Bearer t1', body: '{"method":"card"}' },
      { method: 'GET', url: '/empty', auth: 'Bearer t2', body: '' },
    ]);
    const declined = await api.request('POST', '/declined', {}).catch((e: unknown) => e);
    expect(declined).toBeInstanceOf(FlashcastRequestError);
    expect(declined).toMatchObject({ code: 'PAYMENT_DECLINED', message: 'the payment was declined', details: { orderId: 'o1' } });
    expect(await api.request('GET', '/busy').catch((e: unknown) => e)).toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 2_000 });
    const dead = new HttpChannel({ baseUrl: 'http://127.0.0.1:1', token: () => 't', timeoutMs: 5_000 });
    expect(await dead.request('GET', '/x').catch((e: unknown) => e)).toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('confirmation answers, typed', () => {
  it('a provider step becomes a redirect or an approval with an absolute URL; SETTLING and PAID are done', () => {
    const step = { code: 'COMPLETE_PAYMENT', url: '/v1/payments/sandbox/pay/ps_1', provider: 'sandbox', expiresAt: 42 };
    expect(paymentActionOf({ status: 'CHECKOUT_RESERVED', orderId: 'o1', dealId: 'd1', nextStep: step }, 'https://live.example.com')).toMatchObject({
      type: 'redirect', orderId: 'o1', dealId: 'd1', url: 'https://live.example.com/v1/payments/sandbox/pay/ps_1', provider: 'sandbox', expiresAt: 42,
    });
    expect(paymentActionOf({ status: 'CHECKOUT_RESERVED', orderId: 'o1', nextStep: { ...step, code: 'APPROVE_PAYMENT', url: 'https://bnpl.example/app/1' } }, 'https://live.example.com'))
      .toMatchObject({ type: 'approval', url: 'https://bnpl.example/app/1' });
    expect(paymentActionOf({ status: 'CHECKOUT_SETTLING', orderId: 'o1', dealId: 'd1' })).toEqual({ type: 'done', orderId: 'o1', dealId: 'd1', status: 'settling' });
    expect(paymentActionOf({ status: 'CHECKOUT_PAID', orderId: 'o1' })).toMatchObject({ type: 'done', status: 'paid' });
  });

  it('a step this SDK does not know is kept as UNKNOWN with what was sent', () => {
    expect(nextStepOf({ code: 'SCAN_QR', url: 'x' })).toEqual({ code: 'UNKNOWN', raw: { code: 'SCAN_QR', url: 'x' } });
    expect(nextStepOf(null)).toBeNull();
  });
});
