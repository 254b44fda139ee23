import { randomBytes } from 'node:crypto';
import type { RunReport } from '../runbook/index.js';
import { sqlDb, type DialectMigrations, type SqlDb, type SqliteDatabase } from '../store/index.js';

const drillTables = (real: string, seq: string) => [
  {
    name: 'drills/1',
    sql: `
CREATE TABLE drill_runs (
  id TEXT PRIMARY KEY,${seq}
  runbook TEXT NOT NULL,
  mode TEXT NOT NULL,
  scheduled_for ${real},
  started_at ${real} NOT NULL,
  finished_at ${real},
  status TEXT NOT NULL,
  run_id TEXT,
  rto_s ${real},
  cleanup TEXT,
  detail TEXT,
  report_json TEXT
);
-- One drill per scheduled time: a slot claimed twice (a restart, a second controller) runs once.
CREATE UNIQUE INDEX drill_runs_slot ON drill_runs (runbook, scheduled_for) WHERE scheduled_for IS NOT NULL;
CREATE INDEX drill_runs_started ON drill_runs (started_at);`,
  },
  {
    // A drill that skipped steps (no drill behaviour) measured a partial RTO: which, and that it is partial.
    name: 'drills/2',
    sql: `ALTER TABLE drill_runs ADD COLUMN skipped_steps TEXT;
ALTER TABLE drill_runs ADD COLUMN rto_partial INTEGER NOT NULL DEFAULT 0;`,
  },
];

export const DRILL_MIGRATIONS: DialectMigrations = {
  sqlite: drillTables('REAL', ''),
  postgres: drillTables('DOUBLE PRECISION', '\n  seq BIGSERIAL NOT NULL,'),
};

export type DrillStatus = 'running' | 'succeeded' | 'failed';

export interface DrillRow {
  id: string;
  runbook: string;
  mode: string;
  scheduled_for: number | null;
  started_at: number;
  finished_at: number | null;
  status: DrillStatus;
  run_id: string | null;
  rto_s: number | null;
  cleanup: string | null;
  detail: string | null;
  report_json: string | null;
  /** JSON list of `{ step, why }` the drill skipped; null when it skipped none. */
  skipped_steps: string | null;
  /** 1 when the RTO leaves out skipped steps. */
  rto_partial: number;
}

export interface DrillResult {
  status: 'succeeded' | 'failed';
  run_id?: string;
  rto_s?: number | null;
  cleanup?: string | null;
  detail?: string;
  /** A run report for drills that ran no runbook run (the readiness mode). */
  report?: RunReport;
  /** Steps the drill skipped (no drill behaviour): its RTO is partial. */
  skipped?: Array<{ step: string; why: string }>;
}

/** Scheduled drills and their results, in the controller's store beside the runbook journal. */
export class DrillStore {
  readonly db: SqlDb;
  private readonly ready: Promise<void>;

  constructor(db: SqlDb | SqliteDatabase) {
    this.db = sqlDb(db);
    this.ready = this.db.migrate(DRILL_MIGRATIONS);
  }

  /** Claims a scheduled slot; undefined when that slot was already claimed (it ran, or runs, elsewhere). */
  async claim(
    runbook: string,
    mode: string,
    scheduledFor: number | null,
    now: number,
  ): Promise<DrillRow | undefined> {
    await this.ready;
    const id = `drill-${new Date(now * 1000).toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
    const { changes } = await this.db.run(
      `INSERT INTO drill_runs (id, runbook, mode, scheduled_for, started_at, status)
       VALUES (?, ?, ?, ?, ?, 'running') ON CONFLICT DO NOTHING`,
      [id, runbook, mode, scheduledFor, now],
    );
    return changes === 1 ? this.get(id) : undefined;
  }

  async finish(id: string, result: DrillResult, now: number): Promise<DrillRow> {
    await this.ready;
    await this.db.run(
      `UPDATE drill_runs SET status = ?, finished_at = ?, run_id = ?, rto_s = ?, cleanup = ?, detail = ?, report_json = ?,
              skipped_steps = ?, rto_partial = ?
        WHERE id = ?`,
      [
        result.status,
        now,
        result.run_id ?? null,
        result.rto_s ?? null,
        result.cleanup ?? null,
        result.detail ?? null,
        result.report ? JSON.stringify(result.report) : null,
        result.skipped?.length ? JSON.stringify(result.skipped) : null,
        result.skipped?.length ? 1 : 0,
        id,
      ],
    );
    return (await this.get(id))!;
  }

  async get(id: string): Promise<DrillRow | undefined> {
    await this.ready;
    return this.db.get<DrillRow>('SELECT * FROM drill_runs WHERE id = ?', [id]);
  }

  /** The drill that ran a runbook run, if that run was a drill. */
  async byRun(runId: string): Promise<DrillRow | undefined> {
    await this.ready;
    return this.db.get<DrillRow>('SELECT * FROM drill_runs WHERE run_id = ?', [runId]);
  }

  async list(limit = 20): Promise<DrillRow[]> {
    await this.ready;
    return this.db.all<DrillRow>(
      `SELECT * FROM drill_runs ORDER BY started_at DESC, ${this.db.insertionOrder} DESC LIMIT ?`,
      [limit],
    );
  }

  /** The newest successful drill, and the newest successful one that measured an RTO. */
  async lastSuccess(): Promise<{ at: number; rto_s: number | null; rto_partial: boolean } | undefined> {
    await this.ready;
    const row = await this.db.get<{ at: number; rto_s: number | null; rto_partial: number | null }>(
      `SELECT finished_at AS at,
              (SELECT rto_s FROM drill_runs WHERE status = 'succeeded' AND rto_s IS NOT NULL
                ORDER BY finished_at DESC LIMIT 1) AS rto_s,
              (SELECT rto_partial FROM drill_runs WHERE status = 'succeeded' AND rto_s IS NOT NULL
                ORDER BY finished_at DESC LIMIT 1) AS rto_partial
         FROM drill_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1`,
    );
    return row && { at: row.at, rto_s: row.rto_s, rto_partial: row.rto_partial === 1 };
  }
}
