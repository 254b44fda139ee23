import pg from 'pg';
import {
  FencedError,
  type DecisionStateStore,
  type Lease,
  type LeaseStore,
  type StoredState,
} from './ports.js';
import { LEASE_MIGRATIONS, LEASE_NAME } from './lease.js';

/** Unix seconds on the database's clock: every controller measures the lease on the same clock. */
const NOW = 'extract(epoch from clock_timestamp())';

/** A connection string without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/password=\S+/gi, 'password=***');
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The PostgreSQL store: one schema per store (so several installations, or tests, share a
 * server), versioned migrations applied once each under an advisory lock (controllers
 * starting together do not race), and a pool whose connections all use that schema.
 */
export class PostgresStore {
  readonly pool: pg.Pool;

  private constructor(
    readonly url: string,
    readonly schema: string,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: 5000,
      options: `-c search_path=${quoteIdent(schema)}`,
    });
    // An idle connection dropped by the server must not crash the controller; the next query reconnects.
    this.pool.on('error', () => undefined);
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

  /** Applies named migrations once each, in one transaction per migration. */
  async migrate(migrations: Array<{ name: string; sql: string }>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // One migrator per schema at a time; the lock ends with the transaction.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`phoenix-migrate:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const applied = new Set(
        (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
      );
      for (const migration of migrations) {
        if (applied.has(migration.name)) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Runs `work` in one transaction on one connection. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

interface LeaseRow {
  holder: string;
  token: number;
  expires_at: number;
  acquired_at: number;
}

/** The controller lease in PostgreSQL; every decision about it is one conditional statement. */
export class PostgresLeaseStore implements LeaseStore {
  constructor(
    private readonly store: PostgresStore,
    readonly name = LEASE_NAME,
  ) {}

  async current(): Promise<Lease | undefined> {
    const { rows } = await this.store.pool.query<LeaseRow>(
      'SELECT holder, token, expires_at, acquired_at FROM controller_leases WHERE name = $1',
      [this.name],
    );
    return rows[0];
  }

  async acquire(holder: string, ttl_s: number): Promise<{ acquired: boolean; lease: Lease }> {
    // Taken when free or expired (the token grows), renewed when already ours and live.
    const { rows } = await this.store.pool.query<LeaseRow>(
      `INSERT INTO controller_leases AS l (name, holder, token, expires_at, acquired_at)
         VALUES ($1, $2, 1, ${NOW} + $3, ${NOW})
       ON CONFLICT (name) DO UPDATE SET
         holder = excluded.holder,
         expires_at = excluded.expires_at,
         token = CASE WHEN l.holder = excluded.holder AND l.expires_at > ${NOW} THEN l.token ELSE l.token + 1 END,
         acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > ${NOW} THEN l.acquired_at ELSE excluded.acquired_at END
       WHERE l.holder = excluded.holder OR l.expires_at <= ${NOW}
       RETURNING holder, token, expires_at, acquired_at`,
      [this.name, holder, ttl_s],
    );
    if (rows[0]) return { acquired: true, lease: rows[0] };
    return { acquired: false, lease: (await this.current())! };
  }

  async renew(holder: string, token: number, ttl_s: number): Promise<boolean> {
    const { rowCount } = await this.store.pool.query(
      `UPDATE controller_leases SET expires_at = ${NOW} + $4
        WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > ${NOW}`,
      [this.name, holder, token, ttl_s],
    );
    return rowCount === 1;
  }

  async release(holder: string, token: number): Promise<void> {
    await this.store.pool.query(
      'UPDATE controller_leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND token = $3',
      [this.name, holder, token],
    );
  }

  /**
   * Inside a transaction: locks the lease row (a takeover waits for this write, and this
   * write waits for a takeover) and throws FencedError unless `token` is the live lease's.
   */
  async assertToken(client: pg.PoolClient, token: number): Promise<void> {
    const { rows } = await client.query<LeaseRow & { live: boolean }>(
      `SELECT holder, token, expires_at > ${NOW} AS live FROM controller_leases WHERE name = $1 FOR SHARE`,
      [this.name],
    );
    const lease = rows[0];
    if (!lease || Number(lease.token) !== token || !lease.live) {
      throw new FencedError(
        `fencing token ${token} is stale (the lease is ${lease ? `token ${lease.token}, held by ${lease.holder}` : 'free'}); this controller no longer leads, so the store refuses its write`,
      );
    }
  }
}

export class PostgresDecisionStateStore<T> implements DecisionStateStore<T> {
  private readonly lease: PostgresLeaseStore;
  constructor(
    private readonly store: PostgresStore,
    readonly name = LEASE_NAME,
  ) {
    this.lease = new PostgresLeaseStore(store, name);
  }

  async load(): Promise<StoredState<T> | undefined> {
    const { rows } = await this.store.pool.query<{ state_json: string; at: number; token: number | null }>(
      'SELECT state_json, at, token FROM decision_state WHERE name = $1',
      [this.name],
    );
    const row = rows[0];
    return row ? { state: JSON.parse(row.state_json) as T, at: row.at, token: row.token } : undefined;
  }

  async save(state: T, at: number, token?: number): Promise<void> {
    await this.store.transaction(async (client) => {
      if (token !== undefined) await this.lease.assertToken(client, token);
      await client.query(
        `INSERT INTO decision_state (name, state_json, at, token) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET state_json = excluded.state_json, at = excluded.at, token = excluded.token`,
        [this.name, JSON.stringify(state), at, token ?? null],
      );
    });
  }
}
