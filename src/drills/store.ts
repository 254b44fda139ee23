import { randomBytes } from 'node:crypto';
import type { RunReport } from '../runbook/index.js';
import { migrate, type SqliteDatabase } from '../store/index.js';

export const DRILL_MIGRATIONS = [
  {
    name: 'drills/1',
    sql: `
CREATE TABLE drill_runs (
  id TEXT PRIMARY KEY,
  runbook TEXT NOT NULL,
  mode TEXT NOT NULL,
  scheduled_for REAL,
  started_at REAL NOT NULL,
  finished_at REAL,
  status TEXT NOT NULL,
  run_id TEXT,
  rto_s REAL,
  cleanup TEXT,
  detail TEXT,
  report_json TEXT
);
-- One drill per scheduled time: a slot claimed twice (a restart, a second controller) runs once.
CREATE UNIQUE INDEX drill_runs_slot ON drill_runs (runbook, scheduled_for) WHERE scheduled_for IS NOT NULL;
CREATE INDEX drill_runs_started ON drill_runs (started_at);`,
  },
];

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
}

export interface DrillResult {
  status: 'succeeded' | 'failed';
  run_id?: string;
  rto_s?: number | null;
  cleanup?: string | null;
  detail?: string;
  /** A run report for drills that ran no runbook run (the readiness mode). */
  report?: RunReport;
}

/** Scheduled drills and their results, in the controller's store beside the runbook journal. */
export class DrillStore {
  constructor(readonly db: SqliteDatabase) {
    migrate(db, DRILL_MIGRATIONS);
  }

  /** Claims a scheduled slot; undefined when that slot was already claimed (it ran, or runs, elsewhere). */
  claim(runbook: string, mode: string, scheduledFor: number | null, now: number): DrillRow | undefined {
    const id = `drill-${new Date(now * 1000).toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
    const info = this.db
      .prepare(
        `INSERT OR IGNORE INTO drill_runs (id, runbook, mode, scheduled_for, started_at, status)
         VALUES (?, ?, ?, ?, ?, 'running')`,
      )
      .run(id, runbook, mode, scheduledFor, now);
    return info.changes === 1 ? this.get(id) : undefined;
  }

  finish(id: string, result: DrillResult, now: number): DrillRow {
    this.db
      .prepare(
        `UPDATE drill_runs SET status = ?, finished_at = ?, run_id = ?, rto_s = ?, cleanup = ?, detail = ?, report_json = ?
          WHERE id = ?`,
      )
      .run(
        result.status,
        now,
        result.run_id ?? null,
        result.rto_s ?? null,
        result.cleanup ?? null,
        result.detail ?? null,
        result.report ? JSON.stringify(result.report) : null,
        id,
      );
    return this.get(id)!;
  }

  get(id: string): DrillRow | undefined {
    return this.db.prepare('SELECT * FROM drill_runs WHERE id = ?').get(id) as DrillRow | undefined;
  }

  /** The drill that ran a runbook run, if that run was a drill. */
  byRun(runId: string): DrillRow | undefined {
    return this.db.prepare('SELECT * FROM drill_runs WHERE run_id = ?').get(runId) as DrillRow | undefined;
  }

  list(limit = 20): DrillRow[] {
    return this.db
      .prepare('SELECT * FROM drill_runs ORDER BY started_at DESC, rowid DESC LIMIT ?')
      .all(limit) as DrillRow[];
  }

  /** The newest successful drill, and the newest successful one that measured an RTO. */
  lastSuccess(): { at: number; rto_s: number | null } | undefined {
    const row = this.db
      .prepare(
        `SELECT finished_at AS at,
                (SELECT rto_s FROM drill_runs WHERE status = 'succeeded' AND rto_s IS NOT NULL
                  ORDER BY finished_at DESC LIMIT 1) AS rto_s
           FROM drill_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1`,
      )
      .get() as { at: number; rto_s: number | null } | undefined;
    return row;
  }
}
