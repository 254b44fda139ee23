import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The one port every durable module (history, journal, step processes, changes, drills,
 * lease, decision state) writes through. SQLite (embedded, one controller) and PostgreSQL
 * (several controllers) implement it; each module writes its SQL once, with `?`
 * placeholders, and keeps one migration list per dialect.
 */

export type Dialect = 'sqlite' | 'postgres';
export type SqlParam = string | number | null;

export interface SqlRunner {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  /** A write; `changes` is how many rows it touched. */
  run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }>;
}

export interface Migration {
  name: string;
  sql: string;
}

/** A module's migrations, one list per dialect (SQLite keeps its historical names and SQL). */
export interface DialectMigrations {
  sqlite: Migration[];
  postgres: Migration[];
}

export interface SqlDb extends SqlRunner {
  /**
   * Runs `work` in one transaction; every query made on this store inside it (through
   * any module sharing the store) joins it. SQLite takes the write lock first (BEGIN
   * IMMEDIATE), so a read-then-write never fails half-way with SQLITE_BUSY.
   */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /** Applies the dialect's migrations not yet applied, once each. */
  migrate(migrations: DialectMigrations): Promise<void>;
  /** ` FOR UPDATE` where the dialect locks rows read in a transaction (SQLite already holds the write lock). */
  readonly forUpdate: string;
  /** The column that orders rows by insertion where two share a timestamp. */
  readonly insertionOrder: string;
  /** What the store is, for messages: a path or a redacted URL and schema. */
  describe(): string;
  /** Whether the store took its latest write, and why not (what /readyz reports). */
  health(): StoreHealth;
  close(): Promise<void>;
}

export interface StoreHealth {
  writable: boolean;
  /** Why the latest write failed, with the fix; absent while writes succeed. */
  reason?: string;
}

/**
 * A write the store could not make durable (a full disk, an I/O error, a store that cannot be
 * reached). The HTTP API answers it 503 with its message: the client may retry, and nothing was
 * acknowledged.
 */
export class StoreUnavailableError extends Error {
  readonly statusCode = 503;
  readonly expose = true;
  constructor(
    message: string,
    readonly code: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The latest write's outcome, kept by each store for its health(). */
export class WriteHealth {
  private failure: string | undefined;

  health(): StoreHealth {
    return this.failure ? { writable: false, reason: this.failure } : { writable: true };
  }

  succeeded(): void {
    this.failure = undefined;
  }

  failed(error: StoreUnavailableError): void {
    this.failure = error.message;
  }
}

/** Whether an error is a unique-constraint violation, in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/** A transaction in progress: queries of the async context that opened it go to it while it is open. */
export interface OpenTransaction<C> {
  connection: C;
  open: boolean;
}

/**
 * Routes queries to the transaction of the current async context. A task started inside
 * a transaction that outlives it (a callback, a timer) finds it closed and runs on its own.
 */
export class TransactionScope<C> {
  private readonly storage = new AsyncLocalStorage<OpenTransaction<C>>();

  current(): OpenTransaction<C> | undefined {
    const tx = this.storage.getStore();
    return tx?.open ? tx : undefined;
  }

  async run<T>(connection: C, work: () => Promise<T>): Promise<T> {
    const tx: OpenTransaction<C> = { connection, open: true };
    try {
      return await this.storage.run(tx, work);
    } finally {
      tx.open = false;
    }
  }
}
