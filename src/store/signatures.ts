import type { DialectMigrations, SqlDb } from './sql.js';

const signatureTable = (real: string) => [
  {
    name: 'webhook_signatures/1',
    sql: `CREATE TABLE webhook_signatures (signature TEXT PRIMARY KEY, seen_at ${real} NOT NULL);
CREATE INDEX webhook_signatures_seen ON webhook_signatures (seen_at);`,
  },
];

const MIGRATIONS: DialectMigrations = {
  sqlite: signatureTable('REAL'),
  postgres: signatureTable('DOUBLE PRECISION'),
};

/**
 * The signed webhook requests already accepted, kept in the store: a captured request replayed
 * after a restart, or to another controller sharing the store, is refused while its timestamp is
 * still inside the replay window. Rows older than that window are forgotten.
 */
export class SeenSignatureStore {
  private readonly ready: Promise<void>;

  constructor(private readonly db: SqlDb) {
    this.ready = db.migrate(MIGRATIONS);
  }

  /** Records a signature; false when it was recorded before (a replay). */
  async remember(signature: string, now: number, keep_s: number): Promise<boolean> {
    await this.ready;
    return this.db.transaction(async () => {
      await this.db.run('DELETE FROM webhook_signatures WHERE seen_at < ?', [now - keep_s]);
      const inserted = await this.db.run(
        'INSERT INTO webhook_signatures (signature, seen_at) VALUES (?, ?) ON CONFLICT (signature) DO NOTHING',
        [signature, now],
      );
      return inserted.changes === 1;
    });
  }
}
