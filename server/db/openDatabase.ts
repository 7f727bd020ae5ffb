import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from './Database.js';
import { PgDatabase } from './PgDatabase.js';
import { PGliteDatabase } from './PGliteDatabase.js';
import { Migrator } from './Migrator.js';

/** Opens PostgreSQL when `databaseUrl` is set, else embedded PGlite under `dataDir`; then migrates. */
export async function openDatabase(options: { databaseUrl?: string; dataDir?: string; schema?: string; max?: number }): Promise<Database> {
  let db: Database;
  if (options.databaseUrl) {
    db = await PgDatabase.create({ connectionString: options.databaseUrl, schema: options.schema, max: options.max });
  } else if (options.dataDir) {
    const dir = join(options.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    db = await PGliteDatabase.create(dir);
  } else {
    db = await PGliteDatabase.create();
  }
  try {
    await new Migrator(db).migrate();
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
