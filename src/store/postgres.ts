import pg from 'pg';
import {
  TransactionScope,
  type DialectMigrations,
  type Migration,
  type SqlDb,
  type SqlParam,
} from './sql.js';
import { LEASE_MIGRATIONS } from './lease.js';
import { redact } from '../pg/index.js';

export { redact };

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `?` placeholders (the SQL every module writes once) as PostgreSQL's `$1, $2, ...`. */
function positional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const INT8_OID = 20;
/** Row ids and counts are int8; well inside 2^53 here, so numbers, as SQLite returns them. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * The PostgreSQL store: one schema per store (so several installations, or tests, share a
 * server), versioned migrations applied once each under an advisory lock (controllers
 * starting together do not race), and a pool whose connections all use that schema.
 */
export class PostgresStore implements SqlDb {
  readonly dialect = 'postgres' as const;
  readonly forUpdate = ' FOR UPDATE';
  readonly insertionOrder = 'seq';
  readonly pool: pg.Pool;
  private readonly scope = new TransactionScope<pg.PoolClient>();
  private readonly applied = new Set<string>();

  private constructor(
    readonly url: string,
    readonly schema: string,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 6,
      connectionTimeoutMillis: 5000,
      // A controller paused (SIGSTOP, a VM freeze) inside a fenced write holds the lease row's
      // lock; the server ends such a stalled transaction, so a takeover is not blocked by it.
      options: `-c search_path=${quoteIdent(schema)} -c idle_in_transaction_session_timeout=2000`,
      types: TYPES,
    });
    // A connection the server ends (an idle one dropped, or a stalled transaction ended by the
    // idle-in-transaction timeout after a pause) must not crash the controller: the query in
    // flight fails with the server's reason, and the connection is discarded on release.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  static async open(url: string, schema = 'phoenix'): Promise<PostgresStore> {
    const store = new PostgresStore(url, schema);
    try {
      await store.migrate(LEASE_MIGRATIONS);
    } catch (error) {
      await store.close();
      throw new Error(
        `cannot open the PostgreSQL store ${redact(url)} (schema ${schema}): ${(error as Error).message}; check store.url and that the role may create the schema`,
      );
    }
    return store;
  }

  private connection(): pg.Pool | pg.PoolClient {
    return this.scope.current()?.connection ?? this.pool;
  }

  async all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const result = await this.connection().query(positional(sql), params as SqlParam[]);
    return result.rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<{ changes: number }> {
    const result = await this.connection().query(positional(sql), params as SqlParam[]);
    return { changes: result.rowCount ?? 0 };
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.scope.current()) return work();
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await this.scope.run(client, work);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Applies named migrations once each, all in one transaction under a per-schema lock. */
  async migrate(migrations: DialectMigrations): Promise<void> {
    const pending = migrations.postgres.filter((m) => !this.applied.has(m.name));
    if (pending.length === 0) return;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      // One migrator per schema at a time; the lock ends with the transaction.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`phoenix-migrate:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      await this.applyPending(client, pending);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.release(broken);
    }
    for (const m of pending) this.applied.add(m.name);
  }

  private async applyPending(client: pg.PoolClient, pending: Migration[]): Promise<void> {
    const done = new Set(
      (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
    );
    for (const migration of pending) {
      if (done.has(migration.name)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
    }
  }

  describe(): string {
    return `${redact(this.url)} (schema ${this.schema})`;
  }

  /** Drops this store's schema and everything in it (tests, `phoenix` never does). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(this.schema)} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
