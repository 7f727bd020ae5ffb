import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as sdk from './index.js';
import { ErrorCode, WebhookErrorCode } from '../protocol/codes.js';
import { CommerceErrorCode } from '../server/commerce/errors.js';
import { SettlementErrorCode } from '../server/settlement/errors.js';
import { SfuErrorCode } from '../sfu/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every code value the SDK exports. */
const exported = new Set<string>(
  [sdk.ErrorCode, sdk.CommerceErrorCode, sdk.BuyResultCode, sdk.SettlementErrorCode, sdk.SfuErrorCode, sdk.WebhookErrorCode].flatMap((o) => Object.values(o)),
);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('the SDK exports every code a client can receive', () => {
  it('covers the code tables of every server part', () => {
    for (const table of [ErrorCode, CommerceErrorCode, SettlementErrorCode, SfuErrorCode, WebhookErrorCode]) {
      for (const code of Object.values(table)) expect(exported, code).toContain(code);
    }
  });

  it('covers every code literal thrown or answered in server/ and sfu/', () => {
    const literal = /(?:Error|fail)\(\s*'([A-Z][A-Z0-9_]{2,})'|\bcode: '([A-Z][A-Z0-9_]{2,})'/g;
    const found = new Set<string>();
    for (const file of [...sources(join(root, 'server')), ...sources(join(root, 'sfu'))]) {
      for (const m of readFileSync(file, 'utf8').matchAll(literal)) found.add(m[1] ?? m[2]);
    }
    expect(found.size).toBeGreaterThan(0);
    for (const code of found) expect(exported, code).toContain(code);
  });
});
