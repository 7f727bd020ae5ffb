import { SignJWT, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/codes.js';
import { TokenService } from './TokenService.js';

const SECRET = 'unit-test-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
const tokens = new TokenService(SECRET);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('TokenService', () => {
  it('mints tokens a standard JWT library accepts, and accepts tokens it signs', async () => {
    const ours = tokens.mintSync({ sub: 'u1', role: 'host', rooms: ['r1'], name: 'Ana', region: 'MX' });
    const { payload } = await jwtVerify(ours, key, { algorithms: ['HS256'], issuer: 'flashcast' });
    expect(payload).toMatchObject({ sub: 'u1', role: 'host', rooms: ['r1'], name: 'Ana', region: 'MX' });
    const theirs = await new SignJWT({ role: 'viewer', region: 'DE' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('u2')
      .setIssuer('flashcast')
      .setExpirationTime('1h')
      .sign(key);
    expect(tokens.verifySync(theirs)).toMatchObject({ userId: 'u2', role: 'viewer', rooms: null, region: 'DE' });
  });

  it('rejects tampering, other algorithms, alg:none and garbage', async () => {
    const good = tokens.mintSync({ sub: 'u1', role: 'viewer' });
    const [h, , s] = good.split('.');
    expect(codeOf(() => tokens.verifySync(`${h}.${b64({ sub: 'u1', role: 'ops', iss: 'flashcast', exp: 9e9 })}.${s}`))).toBe(ErrorCode.Unauthorized);
    expect(codeOf(() => tokens.verifySync(`${b64({ alg: 'none' })}.${b64({ sub: 'u', role: 'ops', iss: 'flashcast', exp: 9e9 })}.`))).toBe(ErrorCode.Unauthorized);
    const hs512 = await new SignJWT({ role: 'ops' }).setProtectedHeader({ alg: 'HS512' }).setSubject('u').setIssuer('flashcast').setExpirationTime('1h').sign(key);
    expect(codeOf(() => tokens.verifySync(hs512))).toBe(ErrorCode.Unauthorized);
    for (const junk of ['', 'a', 'a.b', 'a.b.c', 'a.b.c.d', '...', `${h}.%%%.${s}`, 'x'.repeat(5000)]) {
      expect(codeOf(() => tokens.verifySync(junk)), junk.slice(0, 20)).toBe(ErrorCode.Unauthorized);
    }
    const otherKey = new TokenService('another-secret-0123456789').mintSync({ sub: 'u1', role: 'viewer' });
    expect(codeOf(() => tokens.verifySync(otherKey))).toBe(ErrorCode.Unauthorized);
  });

  it('checks expiry, not-before, issuer and the claims', async () => {
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const now = Math.floor(Date.now() / 1000);
    expect(codeOf(() => tokens.verifySync(tokens.mintSync({ sub: 'u', role: 'viewer', ttlSeconds: -60 })))).toBe(ErrorCode.TokenExpired);
    const cases: Record<string, unknown>[] = [
      { sub: 'u', role: 'viewer', iss: 'flashcast' }, // no exp
      { sub: 'u', role: 'viewer', iss: 'someone-else', exp: now + 60 },
      { sub: 'u', role: 'viewer', iss: 'flashcast', exp: now + 60, nbf: now + 3600 },
      { sub: 'u', role: 'admin', iss: 'flashcast', exp: now + 60 },
      { sub: 'bad id!', role: 'viewer', iss: 'flashcast', exp: now + 60 },
      { sub: 'u', role: 'host', iss: 'flashcast', exp: now + 60 }, // host without rooms
      { sub: 'u', role: 'viewer', iss: 'flashcast', exp: now + 60, rooms: 'r1' },
    ];
    for (const claims of cases) {
      const token = await sign(claims);
      expect(codeOf(() => tokens.verifySync(token)), JSON.stringify(claims)).toBe(ErrorCode.Unauthorized);
    }
  });

  it('reads "*" one way: every room, for viewer and ops tokens only', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ iss: 'flashcast', exp: Math.floor(Date.now() / 1000) + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(tokens.verifySync(await sign({ sub: 'v', role: 'viewer', rooms: ['*'] })).rooms).toBeNull();
    expect(tokens.verifySync(await sign({ sub: 'o', role: 'ops', rooms: ['*'] })).rooms).toBeNull();
    expect(tokens.verifySync(await sign({ sub: 'o', role: 'ops' })).rooms).toBeNull();
    expect(tokens.verifySync(await sign({ sub: 's', role: 'seller' })).rooms).toBeNull();
    expect(tokens.verifySync(await sign({ sub: 'h', role: 'host', rooms: ['r1', 'r2'] })).rooms).toEqual(['r1', 'r2']);
    for (const role of ['host', 'moderator', 'seller']) {
      for (const rooms of [['*'], ['r1', '*']]) {
        const token = await sign({ sub: 'x', role, rooms });
        expect(codeOf(() => tokens.verifySync(token)), `${role} ${rooms}`).toBe(ErrorCode.Unauthorized);
        expect(() => tokens.mintSync({ sub: 'x', role: role as 'host', rooms })).toThrow(TypeError);
      }
    }
    for (const rooms of [[], ['bad room'], ['{r}'], [1]]) {
      const token = await sign({ sub: 'v', role: 'viewer', rooms });
      expect(codeOf(() => tokens.verifySync(token)), JSON.stringify(rooms)).toBe(ErrorCode.Unauthorized);
    }
    expect(() => tokens.mintSync({ sub: 'h', role: 'host' })).toThrow(TypeError);
    expect(tokens.verifySync(tokens.mintSync({ sub: 'v', role: 'viewer', rooms: ['*'] })).rooms).toBeNull();
  });

  it('carries the guest and stream-key limits, and refuses a limited token it cannot read', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ iss: 'flashcast', exp: Math.floor(Date.now() / 1000) + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const guest = tokens.verifySync(tokens.mintSync({ sub: 'guest:x1', role: 'viewer', rooms: ['r1'], guest: true, ttlSeconds: 7200 }));
    expect(guest).toMatchObject({ userId: 'guest:x1', role: 'viewer', rooms: ['r1'], guest: true });
    expect(guest.scope).toBeUndefined();
    const streamKey = tokens.verifySync(tokens.mintSync({ sub: 'h1', role: 'host', rooms: ['r1'], scope: 'ingest' }));
    expect(streamKey).toMatchObject({ userId: 'h1', role: 'host', rooms: ['r1'], scope: 'ingest' });
    expect(streamKey.guest).toBeUndefined();
    // a full token carries neither
    const full = tokens.verifySync(tokens.mintSync({ sub: 'v', role: 'viewer' }));
    expect([full.guest, full.scope]).toEqual([undefined, undefined]);
    // shapes a limited token may not have: at mint (TypeError) and at verify (401)
    const bad: Record<string, unknown>[] = [
      { sub: 'g', role: 'viewer', guest: true }, // every room
      { sub: 'g', role: 'viewer', rooms: ['*'], guest: true },
      { sub: 'g', role: 'viewer', rooms: ['r1', 'r2'], guest: true },
      { sub: 'g', role: 'host', rooms: ['r1'], guest: true },
      { sub: 'k', role: 'ops', rooms: ['r1'], scope: 'ingest' },
      { sub: 'k', role: 'host', rooms: ['r1', 'r2'], scope: 'ingest' },
      { sub: 'k', role: 'viewer', rooms: ['r1'], guest: true, scope: 'ingest' },
    ];
    for (const claims of bad) {
      expect(() => tokens.mintSync(claims as never), JSON.stringify(claims)).toThrow(TypeError);
      const forged = await sign(claims);
      expect(codeOf(() => tokens.verifySync(forged)), JSON.stringify(claims)).toBe(ErrorCode.Unauthorized);
    }
    // claims this server does not understand are refused, never read as a full token
    for (const claims of [{ guest: 'yes' }, { guest: false }, { scope: 'admin' }, { scope: '' }]) {
      const token = await sign({ sub: 'v', role: 'viewer', rooms: ['r1'], ...claims });
      expect(codeOf(() => tokens.verifySync(token)), JSON.stringify(claims)).toBe(ErrorCode.Unauthorized);
    }
  });

  it('sanitises display names (controls, bidi overrides, lone surrogates) and bounds them', async () => {
    const sign = (name: string) =>
      new SignJWT({ sub: 'u', role: 'viewer', name, iss: 'flashcast', exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(tokens.verifySync(await sign('A\u0000n\u202Ea\uD800')).name).toBe('Ana');
    expect(tokens.verifySync(await sign('\u0000\u2066')).name).toBe('u');
    expect(tokens.verifySync(await sign('é'.repeat(100))).name).toHaveLength(64);
    expect(tokens.verifySync(tokens.mintSync({ sub: 'u', role: 'seller', name: 'Shop\u0007 owner' }))).toMatchObject({ role: 'seller', name: 'Shop owner' });
  });

  it('refuses weak secrets and bad mint arguments', () => {
    expect(() => new TokenService('short')).toThrow(TypeError);
    expect(() => tokens.mintSync({ sub: 'has space', role: 'viewer' })).toThrow(TypeError);
    expect(() => tokens.mintSync({ sub: 'u', role: 'root' as never })).toThrow(TypeError);
  });
});
