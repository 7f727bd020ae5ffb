import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGliteDatabase } from './PGliteDatabase.js';
import { readdirSync } from 'node:fs';
import { Migrator } from './Migrator.js';
import { assetPath } from '../../common/paths.js';
import type { Database } from './Database.js';
import { newSchemaDb } from '../../test/commerce/helpers.js';

describe.each(['pg', 'pglite'] as const)('%s backend', (kind) => {
  let db: Database;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    if (kind === 'pg') {
      const s = await newSchemaDb(4);
      db = s.db;
      drop = s.drop;
    } else {
      db = await PGliteDatabase.create();
      expect(await new Migrator(db).migrate()).toContain('001_commerce.sql');
      drop = () => db.close();
    }
  }, 60_000);
  afterAll(async () => {
    await drop();
    await db.close(); // idempotent
  });

  it('migrates once', async () => {
    expect(await new Migrator(db).migrate()).toEqual([]);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM schema_migrations');
    // one row per migration file
    expect(rows[0].n).toBe(readdirSync(assetPath(import.meta.url, './migrations')).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).length);
  });

  it('commits or rolls back a transaction as a whole, and returns int8 as numbers', async () => {
    await db.query("INSERT INTO shops (id, owner_user_id, name, currency, country) VALUES ('s1','u','S','USD','US')");
    await expect(db.transaction(async (tx) => {
      await tx.query("INSERT INTO products (id, shop_id, titles, price_amount, currency, stock) VALUES ('p1','s1','{}',9007199254740991,'USD',1)");
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect((await db.query('SELECT 1 FROM products')).rows).toHaveLength(0);
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO products (id, shop_id, titles, price_amount, currency, stock) VALUES ('p1','s1','{}',9007199254740991,'USD',1)");
    });
    const { rows } = await db.query<{ price_amount: number }>('SELECT price_amount FROM products');
    expect(rows[0].price_amount).toBe(9007199254740991);
  });
});
