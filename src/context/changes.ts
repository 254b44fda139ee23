import type { ChangeKind, ChangeRecord } from '../core/index.js';
import { sqlDb, SqliteSql, type DialectMigrations, type SqlDb, type SqliteDatabase } from '../store/index.js';

export const CHANGE_KINDS: readonly ChangeKind[] = ['deploy', 'config', 'migration', 'scaling', 'infra'];

const MIGRATIONS: DialectMigrations = {
  sqlite: [
    {
      name: 'context_changes_001',
      sql: `CREATE TABLE context_changes (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at REAL NOT NULL,
      kind TEXT NOT NULL,
      service TEXT,
      description TEXT NOT NULL,
      source TEXT NOT NULL DEFAULT 'cli'
    );
    CREATE INDEX context_changes_at ON context_changes (at);`,
    },
  ],
  postgres: [
    {
      name: 'context_changes_001',
      sql: `CREATE TABLE context_changes (
      id BIGSERIAL PRIMARY KEY,
      at DOUBLE PRECISION NOT NULL,
      kind TEXT NOT NULL,
      service TEXT,
      description TEXT NOT NULL,
      source TEXT NOT NULL DEFAULT 'cli'
    );
    CREATE INDEX context_changes_at ON context_changes (at);`,
    },
  ],
};

export interface RecordedChange extends ChangeRecord {
  id: number;
  source: string;
}

/**
 * Deploys and config changes that CI/CD systems report (`phoenix change ...`,
 * `POST /api/changes`). A change lined up with a failure points at ourselves,
 * so the analysis needs them as much as the provider feeds.
 */
export class ChangeStore {
  private readonly ready: Promise<void>;

  private constructor(
    readonly db: SqlDb,
    private readonly owned: boolean,
  ) {
    this.ready = db.migrate(MIGRATIONS);
  }

  /** Opens the SQLite file at `path` (closed with the store). */
  static open(path: string): ChangeStore {
    return new ChangeStore(SqliteSql.open(path), true);
  }

  /** Uses a store another module opened (the controller's); `owned` closes it with this one. */
  static on(db: SqlDb | SqliteDatabase, owned = false): ChangeStore {
    return new ChangeStore(sqlDb(db), owned);
  }

  async record(change: ChangeRecord & { source?: string }): Promise<RecordedChange> {
    if (!CHANGE_KINDS.includes(change.kind))
      throw new Error(`change kind "${change.kind}" is unknown; use one of ${CHANGE_KINDS.join(', ')}`);
    if (!change.description.trim()) throw new Error('a change needs a description');
    if (!Number.isFinite(change.at)) throw new Error('a change needs a time');
    const source = change.source ?? 'cli';
    await this.ready;
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO context_changes (at, kind, service, description, source) VALUES (?, ?, ?, ?, ?) RETURNING id',
      [change.at, change.kind, change.service ?? null, change.description, source],
    );
    return { ...change, source, id: row!.id };
  }

  /** Changes with `from <= at <= to`, oldest first. */
  async between(from: number, to: number): Promise<RecordedChange[]> {
    await this.ready;
    const rows = await this.db.all<{
      id: number;
      at: number;
      kind: ChangeKind;
      service: string | null;
      description: string;
      source: string;
    }>(
      'SELECT id, at, kind, service, description, source FROM context_changes WHERE at >= ? AND at <= ? ORDER BY at, id',
      [from, to],
    );
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      kind: r.kind,
      ...(r.service ? { service: r.service } : {}),
      description: r.description,
      source: r.source,
    }));
  }

  async close(): Promise<void> {
    if (this.owned) await this.db.close();
  }
}
