import type { ChangeKind, ChangeRecord } from '../core/index.js';
import { migrate, openDatabase, type SqliteDatabase } from '../store/index.js';

export const CHANGE_KINDS: readonly ChangeKind[] = ['deploy', 'config', 'migration', 'scaling', 'infra'];

const MIGRATIONS = [
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
];

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
  private constructor(
    private readonly db: SqliteDatabase,
    private readonly owned: boolean,
  ) {
    migrate(db, MIGRATIONS);
  }

  static open(path: string): ChangeStore {
    return new ChangeStore(openDatabase(path), true);
  }

  /** Uses a database another module opened (the controller's store). */
  static on(db: SqliteDatabase): ChangeStore {
    return new ChangeStore(db, false);
  }

  record(change: ChangeRecord & { source?: string }): RecordedChange {
    if (!CHANGE_KINDS.includes(change.kind))
      throw new Error(`change kind "${change.kind}" is unknown; use one of ${CHANGE_KINDS.join(', ')}`);
    if (!change.description.trim()) throw new Error('a change needs a description');
    if (!Number.isFinite(change.at)) throw new Error('a change needs a time');
    const source = change.source ?? 'cli';
    const result = this.db
      .prepare('INSERT INTO context_changes (at, kind, service, description, source) VALUES (?, ?, ?, ?, ?)')
      .run(change.at, change.kind, change.service ?? null, change.description, source);
    return { ...change, source, id: Number(result.lastInsertRowid) };
  }

  /** Changes with `from <= at <= to`, oldest first. */
  between(from: number, to: number): RecordedChange[] {
    const rows = this.db
      .prepare(
        'SELECT id, at, kind, service, description, source FROM context_changes WHERE at >= ? AND at <= ? ORDER BY at, id',
      )
      .all(from, to) as Array<{
      id: number;
      at: number;
      kind: ChangeKind;
      service: string | null;
      description: string;
      source: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      kind: r.kind,
      ...(r.service ? { service: r.service } : {}),
      description: r.description,
      source: r.source,
    }));
  }

  close(): void {
    if (this.owned) this.db.close();
  }
}
