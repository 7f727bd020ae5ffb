import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCode } from '../../protocol/codes.js';
import type { Principal } from '../../common/auth/TokenService.js';
import { FlashcastError } from '../../common/errors.js';
import { HttpRouter } from '../../common/http/HttpRouter.js';
import { requestFingerprint } from '../../common/http/IdempotencyStore.js';
import type { Database } from '../db/Database.js';
import { Migrator } from '../db/Migrator.js';
import { PGliteDatabase } from '../db/PGliteDatabase.js';
import { newSchemaDb } from '../../test/commerce/helpers.js';
import { PgIdempotencyStore } from './PgIdempotencyStore.js';

let db: Database;
const stores: PgIdempotencyStore[] = [];
const store = (options: ConstructorParameters<typeof PgIdempotencyStore>[1] = {}) => {
  const s = new PgIdempotencyStore(db, { sweepIntervalMs: 0, ...options });
  stores.push(s);
  return s;
};

/** Opens the backend's database for the describe block; closes it and its stores after. */
function useDatabase(kind: 'pg' | 'pglite') {
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    if (kind === 'pg') {
      const s = await newSchemaDb(4);
      db = s.db;
      drop = s.drop;
    } else {
      db = await PGliteDatabase.create();
      await new Migrator(db).migrate();
      drop = () => db.close();
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of stores.splice(0)) await s.close();
    await drop();
  });
}

const answer = (status: number, body: unknown) => ({ status, headers: { location: '/x' }, body: JSON.stringify(body) });

describe.each(['pg', 'pglite'] as const)('PgIdempotencyStore (real PostgreSQL: %s)', (kind) => {
  useDatabase(kind);

  it('one claim per (caller, key): the holder completes, later requests replay, another fingerprint is a mismatch', async () => {
    const s = store();
    const first = await s.begin('alice', 'k1', 'fp-a');
    expect(first.kind).toBe('started');
    expect(await s.begin('alice', 'k1', 'fp-a')).toEqual({ kind: 'in_progress' });
    expect(await s.begin('alice', 'k1', 'fp-b')).toEqual({ kind: 'mismatch' });
    // scoped by caller: bob's k1 is another key
    expect((await s.begin('bob', 'k1', 'fp-a')).kind).toBe('started');
    await s.complete('alice', 'k1', (first as { lease: string }).lease, answer(201, { id: 's1' }));
    expect(await s.begin('alice', 'k1', 'fp-a')).toEqual({ kind: 'replay', response: answer(201, { id: 's1' }) });
    expect(await s.begin('alice', 'k1', 'fp-b')).toEqual({ kind: 'mismatch' });
    // a stale lease cannot overwrite the stored answer
    await s.complete('alice', 'k1', 'not-the-lease', answer(500, {}));
    expect(await s.begin('alice', 'k1', 'fp-a')).toMatchObject({ kind: 'replay', response: { status: 201 } });
  });

  it('a released key runs again; a lapsed lease of the same request is taken over, of another request not', async () => {
    const s = store();
    const a = await s.begin('carol', 'k2', 'fp');
    await s.release('carol', 'k2', (a as { lease: string }).lease);
    const b = await s.begin('carol', 'k2', 'fp');
    expect(b.kind).toBe('started');
    expect((b as { lease: string }).lease).not.toBe((a as { lease: string }).lease);
    // leaseMs 0: the holder "died"; the same request takes over, another body still mismatches
    const quick = store({ leaseMs: 0 });
    const c = await quick.begin('carol', 'k3', 'fp');
    expect(await quick.begin('carol', 'k3', 'other')).toEqual({ kind: 'mismatch' });
    const d = await quick.begin('carol', 'k3', 'fp');
    expect(d.kind).toBe('started');
    // the old holder's answer is dropped; the new one's is kept
    await quick.complete('carol', 'k3', (c as { lease: string }).lease, answer(201, { by: 'c' }));
    await quick.complete('carol', 'k3', (d as { lease: string }).lease, answer(201, { by: 'd' }));
    expect(await quick.begin('carol', 'k3', 'fp')).toEqual({ kind: 'replay', response: answer(201, { by: 'd' }) });
  });

  it('expired keys are absent and swept', async () => {
    const s = store({ ttlMs: 0 });
    const a = await s.begin('dave', 'k4', 'fp');
    await s.complete('dave', 'k4', (a as { lease: string }).lease, answer(201, {}));
    // expired at once: a new request (even another body) runs
    expect((await s.begin('dave', 'k4', 'another')).kind).toBe('started');
    await s.begin('dave', 'k5', 'fp');
    expect(await s.sweep(1)).toBeGreaterThanOrEqual(2);
    expect((await db.query("SELECT 1 FROM idempotency_keys WHERE scope = 'dave'")).rows).toHaveLength(0);
    await s.close();
    await s.close(); // idempotent
  });
});

describe('HttpRouter with Idempotency-Key (Stripe semantics, real PostgreSQL)', () => {
  useDatabase('pg');
  const alice: Principal = { userId: 'r-alice', name: 'A', role: 'seller', rooms: null, region: null, exp: 0 };
  const bob: Principal = { ...alice, userId: 'r-bob' };

  /** A router whose POST /v1/things creates a numbered thing; `hold()` makes the next run wait until released. */
  function things() {
    const router = new HttpRouter();
    router.setIdempotencyStore(store());
    let runs = 0;
    let holding: { started: () => void; release: Promise<void> } | null = null;
    let fail: FlashcastError | Error | null = null;
    router.add('POST', '/v1/things', 'shop.create', {
      summary: 'create a thing',
      body: z.object({ name: z.string(), size: z.number().optional() }).strict(),
      responses: { 201: z.object({ id: z.string(), name: z.string() }) },
      idempotent: true,
    }, async (req) => {
      const n = ++runs;
      const h = holding;
      holding = null;
      if (h) {
        h.started();
        await h.release;
      }
      if (fail) {
        const e = fail;
        fail = null;
        throw e;
      }
      return { status: 201, body: { id: `t${n}`, name: req.body.name }, headers: { location: `/v1/things/t${n}` } };
    });
    const post = (who: Principal, body: unknown, key?: string) =>
      router.dispatch({ method: 'POST', path: '/v1/things', principal: who, text: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) } });
    return {
      post,
      runs: () => runs,
      failNext: (e: FlashcastError | Error) => (fail = e),
      /** The next run waits; resolves once it started, with the release. */
      hold: () => {
        let release!: () => void;
        let started!: () => void;
        const running = new Promise<void>((r) => (started = r));
        holding = { started, release: new Promise<void>((r) => (release = r)) };
        return { running, release: () => release() };
      },
    };
  }

  it('same key and body: the same status, headers and body, replayed; another body 422; no key runs each time', async () => {
    const t = things();
    const first = await t.post(alice, { name: 'bag', size: 2 }, 'key-1');
    expect(first).toEqual({ status: 201, body: { id: 't1', name: 'bag' }, headers: { location: '/v1/things/t1' } });
    // key order and whitespace do not make another request
    const again = await t.post(alice, { size: 2, name: 'bag' }, 'key-1');
    expect(again).toEqual({ status: 201, body: { id: 't1', name: 'bag' }, headers: { location: '/v1/things/t1', 'idempotent-replayed': 'true' } });
    const other = await t.post(alice, { name: 'hat' }, 'key-1');
    expect(other).toMatchObject({ status: 422, body: { error: { code: ErrorCode.IdempotencyKeyReused } } });
    // another caller's key-1 is its own
    expect(await t.post(bob, { name: 'bag', size: 2 }, 'key-1')).toMatchObject({ status: 201, body: { id: 't2' } });
    expect(await t.post(alice, { name: 'bag' })).toMatchObject({ body: { id: 't3' } });
    expect(await t.post(alice, { name: 'bag' })).toMatchObject({ body: { id: 't4' } });
    expect(t.runs()).toBe(4);
    // invalid input is not stored: the key stays free for the corrected request
    expect(await t.post(alice, { name: 3 }, 'key-2')).toMatchObject({ status: 400 });
    expect(await t.post(alice, { name: 'cap' }, 'key-2')).toMatchObject({ status: 201, body: { id: 't5' } });
  });

  it('concurrent requests with one key: one runs, the other gets 409 IDEMPOTENCY_KEY_IN_USE, then the answer', async () => {
    const t = things();
    const held = t.hold();
    const first = t.post(alice, { name: 'slow' }, 'key-c');
    await held.running;
    const meanwhile = await t.post(alice, { name: 'slow' }, 'key-c');
    expect(meanwhile).toMatchObject({ status: 409, headers: { 'retry-after': '1' }, body: { error: { code: ErrorCode.IdempotencyKeyInUse } } });
    // a different body with the running key is still a reuse
    expect(await t.post(alice, { name: 'fast' }, 'key-c')).toMatchObject({ status: 422 });
    held.release();
    expect(await first).toMatchObject({ status: 201, body: { id: 't1' } });
    expect(await t.post(alice, { name: 'slow' }, 'key-c')).toMatchObject({ status: 201, body: { id: 't1' }, headers: { 'idempotent-replayed': 'true' } });
    expect(t.runs()).toBe(1);
  });

  it('a definitive refusal is replayed; a transient one (5xx, retry-after) runs again', async () => {
    const t = things();
    t.failNext(new FlashcastError('ALREADY_EXISTS', 'exists', 409));
    expect(await t.post(alice, { name: 'x' }, 'key-r')).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS' } } });
    expect(await t.post(alice, { name: 'x' }, 'key-r')).toMatchObject({ status: 409, headers: { 'idempotent-replayed': 'true' } });
    expect(t.runs()).toBe(1);
    t.failNext(new Error('database went away'));
    expect(await t.post(alice, { name: 'y' }, 'key-t')).toMatchObject({ status: 500 });
    t.failNext(new FlashcastError(ErrorCode.Unavailable, 'busy', 400, 2000));
    expect(await t.post(alice, { name: 'y' }, 'key-t')).toMatchObject({ status: 400, headers: { 'retry-after': '2' } });
    expect(await t.post(alice, { name: 'y' }, 'key-t')).toMatchObject({ status: 201, body: { id: 't4' } });
    expect(t.runs()).toBe(4);
  });

  it('the fingerprint covers method, path, query and body', () => {
    const q = new URLSearchParams('b=2&a=1');
    const base = requestFingerprint('POST', '/v1/x', q, { a: 1, b: [1, { d: 1, c: 2 }] });
    expect(requestFingerprint('POST', '/v1/x', new URLSearchParams('a=1&b=2'), { b: [1, { c: 2, d: 1 }], a: 1 })).toBe(base);
    expect(requestFingerprint('POST', '/v1/y', q, { a: 1, b: [1, { d: 1, c: 2 }] })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/x', new URLSearchParams('a=1'), { a: 1, b: [1, { d: 1, c: 2 }] })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/x', q, { a: 1, b: [{ d: 1, c: 2 }, 1] })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/x', q, undefined, 'v=0')).not.toBe(requestFingerprint('POST', '/v1/x', q, undefined, 'v=1'));
  });
});
