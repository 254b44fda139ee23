import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  StoreUnavailableError,
  TransactionScope,
  WriteHealth,
  type DialectMigrations,
  type SqlDb,
  type SqlParam,
  type StoreHealth,
} from './sql.js';

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating when needed) the SQLite file that holds history and the
 * runbook journal. WAL lets the dashboard read while the controller writes;
 * `synchronous = FULL` because the journal must survive a killed process.
 */
export function openDatabase(path: string): SqliteDatabase {
  let db: SqliteDatabase;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (error) {
    const message = (error as Error).message;
    // better-sqlite3 loads its native module on first use; built by `npm ci` for another Node's ABI, it refuses.
    if (/NODE_MODULE_VERSION/.test(message))
      throw new Error(
        `cannot open the store ${path}: better-sqlite3 was built for another Node.js than this one ` +
          `(${process.version}); run phoenix on the Node scripts/setup.sh chose ` +
          '(bash scripts/with-node.sh node dist/cli/main.js) or rebuild it for this one (npm rebuild better-sqlite3)',
      );
    throw new Error(
      `cannot open the store ${path}: ${message}; check store.path and its directory's permissions`,
    );
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  return db;
}

/**
 * Applies named migrations once each. Every module that keeps tables (history,
 * runbook journal, changes) owns its own migration names, so adding a table
 * touches only that module.
 */
export function migrate(db: SqliteDatabase, migrations: Array<{ name: string; sql: string }>): void {
  const applied = new Set(
    (db.prepare('SELECT name FROM schema_migrations').all() as Array<{ name: string }>).map((r) => r.name),
  );
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE name = ?');
  const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
  // Controllers that open one file at once race here: the check and the apply share one
  // IMMEDIATE transaction (the write lock is taken before the check), so only one applies.
  const applyOnce = db.transaction((migration: { name: string; sql: string }) => {
    if (isApplied.get(migration.name) !== undefined) return;
    db.exec(migration.sql);
    record.run(migration.name, new Date().toISOString());
  });
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    applyOnce.immediate(migration);
  }
}

/** What SQLite answers when the file cannot take a write: full disk, I/O error, read-only or gone. */
const UNWRITABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/;

/** An error that means the store cannot write, as the one error every caller can answer 503 to. */
function unwritable(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !UNWRITABLE.test(code)) return error;
  const fix = code.startsWith('SQLITE_FULL')
    ? 'free space on its filesystem'
    : 'check its filesystem and permissions';
  return new StoreUnavailableError(
    `the store ${path} cannot write: ${(error as Error).message} (${code}); ${fix}, then retry`,
    code,
    { cause: error },
  );
}

const WRAPPED = new WeakMap<SqliteDatabase, SqliteSql>();

/**
 * Turn-taking for every SQLite connection of this process. A transaction here spans awaits
 * (the fence check, the write); had another connection of this process written meanwhile,
 * it would wait on the file lock synchronously (busy_timeout) and so block the very event
 * loop that must commit the transaction. Other processes just wait for the lock.
 */
const TURNS = { tail: Promise.resolve() as Promise<unknown> };
const SCOPE = new TransactionScope<SqliteDatabase>();

/**
 * A SQLite file behind the async store port: every statement and transaction takes its
 * turn, so a statement never lands inside another caller's open transaction.
 */
export class SqliteSql implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly forUpdate = '';
  readonly insertionOrder = 'rowid';

  private readonly writes = new WriteHealth();

  private constructor(readonly raw: SqliteDatabase) {}

  /** The one port over a connection (cached, so every module sharing it shares its turn-taking). */
  static on(raw: SqliteDatabase): SqliteSql {
    let db = WRAPPED.get(raw);
    if (!db) {
      db = new SqliteSql(raw);
      WRAPPED.set(raw, db);
    }
    return db;
  }

  static open(path: string): SqliteSql {
    return SqliteSql.on(openDatabase(path));
  }

  private turn<T>(work: () => T | Promise<T>): Promise<T> {
    if (SCOPE.current()) return Promise.resolve().then(work);
    const result = TURNS.tail.then(work, work);
    TURNS.tail = result.catch(() => undefined);
    return result;
  }

  /** Runs a statement in its turn; a write's outcome feeds health(), and a failed write names the store. */
  private statement<T>(work: () => { value: T; wrote: boolean }): Promise<T> {
    return this.turn(() => {
      try {
        const { value, wrote } = work();
        if (wrote) this.writes.succeeded();
        return value;
      } catch (error) {
        throw this.failed(error);
      }
    });
  }

  private failed(error: unknown): unknown {
    const mapped = unwritable(error, this.raw.name);
    if (mapped instanceof StoreUnavailableError) this.writes.failed(mapped);
    return mapped;
  }

  all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.statement(() => {
      const stmt = this.raw.prepare(sql);
      return { value: stmt.all(...params) as T[], wrote: !stmt.readonly };
    });
  }

  get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.statement(() => {
      const stmt = this.raw.prepare(sql);
      // A write's RETURNING row comes before its commit, and get() stops at that row, so a commit
      // that failed (a full disk) would go unseen: a write runs to its end through all().
      if (stmt.readonly) return { value: stmt.get(...params) as T | undefined, wrote: false };
      return { value: (stmt.all(...params) as T[])[0], wrote: true };
    });
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<{ changes: number }> {
    return this.statement(() => ({
      value: { changes: this.raw.prepare(sql).run(...params).changes },
      wrote: true,
    }));
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    if (SCOPE.current()) return work();
    return this.turn(async () => {
      try {
        this.raw.exec('BEGIN IMMEDIATE');
        const result = await SCOPE.run(this.raw, work);
        this.raw.exec('COMMIT');
        this.writes.succeeded();
        return result;
      } catch (error) {
        // A commit the disk refused may leave the transaction open; end it so the next write starts clean.
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw this.failed(error);
      }
    });
  }

  health(): StoreHealth {
    return this.writes.health();
  }

  /** Synchronous underneath, so a module's constructor fails at once on a bad file. */
  migrate(migrations: DialectMigrations): Promise<void> {
    migrate(this.raw, migrations.sqlite);
    return Promise.resolve();
  }

  describe(): string {
    return this.raw.name;
  }

  async close(): Promise<void> {
    await TURNS.tail;
    if (this.raw.open) this.raw.close();
  }
}

/** The store port over a connection or the port itself. */
export function sqlDb(db: SqlDb | SqliteDatabase): SqlDb {
  return db instanceof Database ? SqliteSql.on(db) : db;
}
