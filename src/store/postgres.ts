import pg from 'pg';
import {
  StoreUnavailableError,
  TransactionScope,
  WriteHealth,
  type StoreHealth,
  type DialectMigrations,
  type Migration,
  type SqlDb,
  type SqlParam,
} from './sql.js';
import { LEASE_MIGRATIONS } from './lease.js';
import { redact } from '../pg/index.js';
import { redactText } from '../log/index.js';

export { redact };

/**
 * PostgreSQL's answers that mean the store cannot take a write now: connection exceptions
 * (08), insufficient resources such as a full disk (53), an operator intervention such as a
 * shutdown (57P), a read-only server (25006), and a server the driver cannot reach.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)|^25006$/;
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection terminated|timeout exceeded when trying to connect/i;

function unavailable(error: unknown, where: string): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? String(error);
  const sqlstate = typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code);
  if (!sqlstate && !(typeof code === 'string' && UNREACHABLE.test(code)) && !UNREACHABLE.test(message))
    return error;
  return new StoreUnavailableError(
    `the store ${where} cannot write: ${redactText(message)}${typeof code === 'string' ? ` (${code})` : ''}; check that the server is up, reachable and has space, then retry`,
    typeof code === 'string' ? code : 'UNREACHABLE',
    { cause: error },
  );
}

/**
 * The connection, not the statement, failed: the store unavailable, the session ended for idling in a
 * transaction (25P03), or the driver refusing a client whose connection already failed.
 */
function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    unavailable(error, '') instanceof StoreUnavailableError ||
    code === '25P03' ||
    /not queryable/i.test((error as Error | undefined)?.message ?? '')
  );
}

/** A read: its success says nothing about whether a write would succeed (a full disk). */
const READ_ONLY = /^\s*(SELECT|SHOW)\b/i;

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
  private readonly writes = new WriteHealth();

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
      await store.applyMigrations(LEASE_MIGRATIONS);
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

  /** A query's or transaction's outcome feeds health(); a store that cannot write says so as one error. */
  private async tracked<T>(work: () => Promise<T>, write = true): Promise<T> {
    try {
      const result = await work();
      if (write) this.writes.succeeded();
      return result;
    } catch (error) {
      const mapped = unavailable(error, this.describe());
      if (mapped instanceof StoreUnavailableError) this.writes.failed(mapped);
      throw mapped;
    }
  }

  async all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const result = await this.tracked(
      () => this.connection().query(positional(sql), params as SqlParam[]),
      !READ_ONLY.test(sql),
    );
    return result.rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<{ changes: number }> {
    const result = await this.tracked(() => this.connection().query(positional(sql), params as SqlParam[]));
    return { changes: result.rowCount ?? 0 };
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.scope.current()) return work();
    return this.tracked(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await this.scope.run(client, work);
        // After a failed statement (even one the work caught) PostgreSQL answers COMMIT with ROLLBACK, not an error.
        const ended = await client.query('COMMIT');
        if (ended.command === 'ROLLBACK')
          throw new Error(
            'the transaction was rolled back, not committed: a statement in it failed (PostgreSQL then aborts the whole transaction), so nothing of it was kept; let that error end the transaction',
          );
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  health(): StoreHealth {
    return this.writes.health();
  }

  /**
   * Applies named migrations once each. Modules start theirs in their constructors and await
   * them at their first query, so a store lost in between must not end the process with an
   * unhandled rejection: the failure reaches whoever awaits, as a store that cannot be reached.
   */
  migrate(migrations: DialectMigrations): Promise<void> {
    const applying = this.tracked(() => this.applyUntilDone(migrations));
    applying.catch(() => undefined);
    return applying;
  }

  /**
   * Applies the migrations again while the migrating connection is lost (the server ended it: a restart,
   * or a process starved of CPU past idle_in_transaction_session_timeout between two of its statements),
   * for up to `patienceMs`: the module that started them keeps this promise and awaits it before each of
   * its queries, so one lost connection would otherwise fail them all until the process restarts.
   */
  private async applyUntilDone(migrations: DialectMigrations, patienceMs = 15_000): Promise<void> {
    const until = Date.now() + patienceMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await this.applyMigrations(migrations);
      } catch (error) {
        if (!connectionLost(error) || Date.now() + delay > until) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** All in one transaction under a per-schema lock. */
  private async applyMigrations(migrations: DialectMigrations): Promise<void> {
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
