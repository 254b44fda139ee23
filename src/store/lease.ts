import { hostId } from './host.js';
import type { SqliteDatabase } from './sqlite.js';
import { sqlDb } from './sqlite.js';
import type { DialectMigrations, SqlDb } from './sql.js';
import {
  FencedError,
  type DecisionStateStore,
  type Lease,
  type LeaseStore,
  type StoredState,
} from './ports.js';

const LEASE_TABLES = {
  name: 'lease/1',
  sql: `
      CREATE TABLE controller_leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        token INTEGER NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        acquired_at DOUBLE PRECISION NOT NULL
      );
      CREATE TABLE decision_state (
        name TEXT PRIMARY KEY,
        state_json TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        token INTEGER
      );`,
};

/** The same SQL in both dialects. */
export const LEASE_MIGRATIONS: DialectMigrations = { sqlite: [LEASE_TABLES], postgres: [LEASE_TABLES] };

export const LEASE_NAME = 'controller';

/** Unix seconds on PostgreSQL's clock: every controller measures the lease on the same clock. */
const PG_NOW = 'extract(epoch from clock_timestamp())';

/** `host:pid:nonce`: who holds a lease, and on this host whether that process still lives. */
export function holderId(nonce: string): string {
  return `${hostId()}:${process.pid}:${nonce}`;
}

/** Whether a holder is a process of this host that no longer exists (a SIGKILLed controller). */
export function holderGone(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostId() || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function staleToken(token: number, lease: Lease | undefined): FencedError {
  return new FencedError(
    `fencing token ${token} is stale (the lease is ${lease ? `token ${lease.token}, held by ${lease.holder}` : 'free'}); this controller no longer leads, so the store refuses its write`,
  );
}

const LEASE_COLUMNS = 'holder, token, expires_at, acquired_at';

/** What both lease stores read and write the same way. */
abstract class LeaseRows {
  abstract readonly db: SqlDb;
  abstract readonly name: string;

  current(): Promise<Lease | undefined> {
    return this.db.get<Lease>(`SELECT ${LEASE_COLUMNS} FROM controller_leases WHERE name = ?`, [this.name]);
  }

  async release(holder: string, token: number): Promise<void> {
    await this.db.run(
      'UPDATE controller_leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?',
      [this.name, holder, token],
    );
  }
}

/**
 * The controller lease in the SQLite file, on the caller's clock. A row, not a database
 * lock: `phoenix approve`, `abort`, `status` and `runs` keep working from other processes
 * while a controller holds it.
 */
export class SqliteLeaseStore extends LeaseRows implements LeaseStore {
  readonly db: SqlDb;
  constructor(
    db: SqlDb | SqliteDatabase,
    private readonly clock: () => number = () => Date.now() / 1000,
    readonly name = LEASE_NAME,
  ) {
    super();
    this.db = sqlDb(db);
    void this.db.migrate(LEASE_MIGRATIONS);
  }

  acquire(holder: string, ttl_s: number): Promise<{ acquired: boolean; lease: Lease }> {
    return this.db.transaction(async () => {
      const now = this.clock();
      const lease = await this.current();
      if (!lease) {
        await this.db.run(
          'INSERT INTO controller_leases (name, holder, token, expires_at, acquired_at) VALUES (?, ?, 1, ?, ?)',
          [this.name, holder, now + ttl_s, now],
        );
      } else if (lease.holder === holder && lease.expires_at > now) {
        await this.db.run('UPDATE controller_leases SET expires_at = ? WHERE name = ?', [
          now + ttl_s,
          this.name,
        ]);
      } else if (lease.expires_at <= now || holderGone(lease.holder)) {
        await this.db.run(
          'UPDATE controller_leases SET holder = ?, token = token + 1, expires_at = ?, acquired_at = ? WHERE name = ?',
          [holder, now + ttl_s, now, this.name],
        );
      }
      const after = (await this.current())!;
      return { acquired: after.holder === holder, lease: after };
    });
  }

  async renew(holder: string, token: number, ttl_s: number): Promise<boolean> {
    const now = this.clock();
    const { changes } = await this.db.run(
      'UPDATE controller_leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ? AND expires_at > ?',
      [now + ttl_s, this.name, holder, token, now],
    );
    return changes === 1;
  }

  /**
   * Throws FencedError unless `token` is the live lease's. Call it inside the transaction
   * of the write it guards, so the check and the write are one.
   */
  async assertToken(token: number): Promise<void> {
    const lease = await this.current();
    if (!lease || lease.token !== token || lease.expires_at <= this.clock()) throw staleToken(token, lease);
  }
}

/** The controller lease in PostgreSQL; every decision about it is one conditional statement. */
export class PostgresLeaseStore extends LeaseRows implements LeaseStore {
  constructor(
    readonly db: SqlDb,
    readonly name = LEASE_NAME,
  ) {
    super();
  }

  async acquire(holder: string, ttl_s: number): Promise<{ acquired: boolean; lease: Lease }> {
    // Taken when free or expired (the token grows), renewed when already ours and live. The update's times
    // are read once it holds the row: VALUES are computed when the statement starts, and it may have waited
    // for the row (a fenced write of the old leader holds it FOR SHARE), so a lease taken after the wait
    // would start, and end, before it was taken.
    const taken = await this.db.get<Lease>(
      `INSERT INTO controller_leases AS l (name, holder, token, expires_at, acquired_at)
         VALUES (?, ?, 1, ${PG_NOW} + ?, ${PG_NOW})
       ON CONFLICT (name) DO UPDATE SET
         holder = excluded.holder,
         expires_at = ${PG_NOW} + ?,
         token = CASE WHEN l.holder = excluded.holder AND l.expires_at > ${PG_NOW} THEN l.token ELSE l.token + 1 END,
         acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > ${PG_NOW} THEN l.acquired_at ELSE ${PG_NOW} END
       WHERE l.holder = excluded.holder OR l.expires_at <= ${PG_NOW}
       RETURNING ${LEASE_COLUMNS}`,
      [this.name, holder, ttl_s, ttl_s],
    );
    if (taken) return { acquired: true, lease: taken };
    return { acquired: false, lease: (await this.current())! };
  }

  async renew(holder: string, token: number, ttl_s: number): Promise<boolean> {
    const { changes } = await this.db.run(
      `UPDATE controller_leases SET expires_at = ${PG_NOW} + ?
        WHERE name = ? AND holder = ? AND token = ? AND expires_at > ${PG_NOW}`,
      [ttl_s, this.name, holder, token],
    );
    return changes === 1;
  }

  /**
   * Inside the guarded write's transaction: locks the lease row (a takeover waits for this
   * write, and this write waits for a takeover) and throws FencedError unless `token` is
   * the live lease's.
   */
  async assertToken(token: number): Promise<void> {
    const row = await this.db.get<Lease & { live: boolean }>(
      `SELECT ${LEASE_COLUMNS}, expires_at > ${PG_NOW} AS live FROM controller_leases WHERE name = ? FOR SHARE`,
      [this.name],
    );
    if (!row || Number(row.token) !== token || !row.live) throw staleToken(token, row);
  }
}

/** The lease of whichever store this is. */
export function leaseStoreOn(db: SqlDb, clock?: () => number): SqliteLeaseStore | PostgresLeaseStore {
  return db.dialect === 'sqlite' ? new SqliteLeaseStore(db, clock) : new PostgresLeaseStore(db);
}

/**
 * A JSON state kept under a name in `table` (name, state_json, at, token), written fenced:
 * with a token, the save and the check that the token is the live lease's are one
 * transaction, so a controller that no longer leads cannot overwrite its successor's state.
 * The same SQL in both dialects.
 */
export class FencedStateTable<T> implements DecisionStateStore<T> {
  readonly db: SqlDb;
  private readonly lease: SqliteLeaseStore | PostgresLeaseStore;
  constructor(
    db: SqlDb | SqliteDatabase,
    private readonly table: string,
    readonly name: string,
    clock?: () => number,
    /** The table's migrations, applied before its first read or write. */
    private readonly ready: Promise<void> = Promise.resolve(),
  ) {
    this.db = sqlDb(db);
    this.lease = leaseStoreOn(this.db, clock);
    // Failing migrations are reported by the first load or save, not as an unhandled rejection.
    ready.catch(() => undefined);
  }

  async load(): Promise<StoredState<T> | undefined> {
    await this.ready;
    const row = await this.db.get<{ state_json: string; at: number; token: number | null }>(
      `SELECT state_json, at, token FROM ${this.table} WHERE name = ?`,
      [this.name],
    );
    return row
      ? {
          state: JSON.parse(row.state_json) as T,
          at: row.at,
          token: row.token === null ? null : Number(row.token),
        }
      : undefined;
  }

  async save(state: T, at: number, token?: number): Promise<void> {
    await this.ready;
    await this.db.transaction(async () => {
      if (token !== undefined) await this.lease.assertToken(token);
      await this.db.run(
        `INSERT INTO ${this.table} (name, state_json, at, token) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET state_json = excluded.state_json, at = excluded.at, token = excluded.token`,
        [this.name, JSON.stringify(state), at, token ?? null],
      );
    });
  }
}

/** The decision core's memory, beside the lease that fences its writes. */
export class SqlDecisionStateStore<T> extends FencedStateTable<T> {
  constructor(db: SqlDb | SqliteDatabase, clock?: () => number, name = LEASE_NAME) {
    super(db, 'decision_state', name, clock);
  }
}
