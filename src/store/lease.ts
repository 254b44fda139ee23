import { hostname } from 'node:os';
import { migrate, type SqliteDatabase } from './sqlite.js';
import {
  FencedError,
  type DecisionStateStore,
  type Lease,
  type LeaseStore,
  type StoredState,
} from './ports.js';

export const LEASE_MIGRATIONS = [
  {
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
  },
];

export const LEASE_NAME = 'controller';

/** `host:pid:nonce`: who holds a lease, and on this host whether that process still lives. */
export function holderId(nonce: string): string {
  return `${hostname()}:${process.pid}:${nonce}`;
}

/** Whether a holder is a process of this host that no longer exists (a SIGKILLed controller). */
export function holderGone(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The controller lease in the SQLite file. A row, not a database lock: `phoenix approve`,
 * `abort`, `status` and `runs` keep working from other processes while a controller holds it.
 */
export class SqliteLeaseStore implements LeaseStore {
  constructor(
    readonly db: SqliteDatabase,
    private readonly clock: () => number = () => Date.now() / 1000,
    readonly name = LEASE_NAME,
  ) {
    migrate(db, LEASE_MIGRATIONS);
  }

  currentSync(): Lease | undefined {
    return this.db
      .prepare('SELECT holder, token, expires_at, acquired_at FROM controller_leases WHERE name = ?')
      .get(this.name) as Lease | undefined;
  }

  async current(): Promise<Lease | undefined> {
    return this.currentSync();
  }

  async acquire(holder: string, ttl_s: number): Promise<{ acquired: boolean; lease: Lease }> {
    const take = this.db.transaction(() => {
      const now = this.clock();
      const lease = this.currentSync();
      if (!lease) {
        this.db
          .prepare(
            'INSERT INTO controller_leases (name, holder, token, expires_at, acquired_at) VALUES (?, ?, 1, ?, ?)',
          )
          .run(this.name, holder, now + ttl_s, now);
      } else if (lease.holder === holder && lease.expires_at > now) {
        this.db
          .prepare('UPDATE controller_leases SET expires_at = ? WHERE name = ?')
          .run(now + ttl_s, this.name);
      } else if (lease.expires_at <= now || holderGone(lease.holder)) {
        this.db
          .prepare(
            'UPDATE controller_leases SET holder = ?, token = token + 1, expires_at = ?, acquired_at = ? WHERE name = ?',
          )
          .run(holder, now + ttl_s, now, this.name);
      }
      const after = this.currentSync()!;
      return { acquired: after.holder === holder, lease: after };
    });
    return take.immediate();
  }

  async renew(holder: string, token: number, ttl_s: number): Promise<boolean> {
    const now = this.clock();
    const changes = this.db
      .prepare(
        'UPDATE controller_leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ? AND expires_at > ?',
      )
      .run(now + ttl_s, this.name, holder, token, now).changes;
    return changes === 1;
  }

  async release(holder: string, token: number): Promise<void> {
    this.db
      .prepare('UPDATE controller_leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?')
      .run(this.name, holder, token);
  }

  /**
   * Throws FencedError unless `token` is the live lease's. Call it inside the transaction
   * of the write it guards, so the check and the write are one.
   */
  assertToken(token: number): void {
    const lease = this.currentSync();
    if (!lease || lease.token !== token || lease.expires_at <= this.clock()) {
      throw new FencedError(
        `fencing token ${token} is stale (the lease is ${lease ? `token ${lease.token}, held by ${lease.holder}` : 'free'}); this controller no longer leads, so the store refuses its write`,
      );
    }
  }
}

/** The decision state in the SQLite file, beside the lease that fences its writes. */
export class SqliteDecisionStateStore<T> implements DecisionStateStore<T> {
  private readonly lease: SqliteLeaseStore;
  constructor(
    readonly db: SqliteDatabase,
    clock?: () => number,
    readonly name = LEASE_NAME,
  ) {
    this.lease = new SqliteLeaseStore(db, clock, name);
  }

  async load(): Promise<StoredState<T> | undefined> {
    const row = this.db
      .prepare('SELECT state_json, at, token FROM decision_state WHERE name = ?')
      .get(this.name) as { state_json: string; at: number; token: number | null } | undefined;
    return row ? { state: JSON.parse(row.state_json) as T, at: row.at, token: row.token } : undefined;
  }

  async save(state: T, at: number, token?: number): Promise<void> {
    this.db.transaction(() => {
      if (token !== undefined) this.lease.assertToken(token);
      this.db
        .prepare(
          `INSERT INTO decision_state (name, state_json, at, token) VALUES (?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET state_json = excluded.state_json, at = excluded.at, token = excluded.token`,
        )
        .run(this.name, JSON.stringify(state), at, token ?? null);
    })();
  }
}
