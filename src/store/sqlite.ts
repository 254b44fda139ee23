import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

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
    throw new Error(
      `cannot open the store ${path}: ${(error as Error).message}; check store.path and its directory's permissions`,
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
  const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.name, new Date().toISOString());
    })();
  }
}
