/** Rows and affected-row count of one statement. */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** Something that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  /** One parameterised statement ($1, $2, ...). int8 columns come back as numbers. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * The relational store of orders, payments, catalog and ledgers. Two backends:
 * PgDatabase (PostgreSQL through `pg`) and PGliteDatabase (embedded, the default when
 * DATABASE_URL is unset). SQL is written once, in the PostgreSQL dialect both speak.
 */
export interface Database extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Closes the pool / instance. Idempotent. */
  close(): Promise<void>;
}
