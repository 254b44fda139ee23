import { hostname } from 'node:os';
import { killProcessGroup, processGroupAlive, type ProcessGroupTracker } from '../actions/index.js';
import { migrate, type SqliteDatabase } from '../store/index.js';

export const PROCESS_MIGRATIONS = [
  {
    name: 'runbook/2-process-groups',
    sql: `
CREATE TABLE runbook_processes (
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  pgid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at REAL NOT NULL,
  ended_at REAL,
  killed_at REAL,
  PRIMARY KEY (run_id, step, attempt, pgid)
);`,
  },
];

export interface ProcessGroupRow {
  run_id: string;
  step: string;
  attempt: number;
  pgid: number;
  host: string;
  started_at: number;
  ended_at: number | null;
  killed_at: number | null;
}

/**
 * The process groups each step attempt started, journaled as they start and end. A
 * controller killed mid-step leaves its step's programs running (they have their own
 * group, so they outlive it); before the step runs again, those survivors are killed and
 * waited for, so two copies of one step never overlap.
 */
export class StepProcesses {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly clock: () => number,
    /** The controller's fence: a program is journaled (and so started) only by the leader. */
    private readonly fence?: () => number,
  ) {
    migrate(db, PROCESS_MIGRATIONS);
  }

  tracker(runId: string, step: string, attempt: number): ProcessGroupTracker {
    const quietly = (write: () => void) => {
      try {
        write();
      } catch {
        // The survivor check finds the group by its pgid anyway.
      }
    };
    return {
      // Errors propagate: a program whose group is not journaled must not start.
      started: (pgid) => {
        this.db
          .transaction(() => {
            this.fence?.();
            this.db
              .prepare(
                `INSERT OR REPLACE INTO runbook_processes (run_id, step, attempt, pgid, host, started_at) VALUES (?, ?, ?, ?, ?, ?)`,
              )
              .run(runId, step, attempt, pgid, hostname(), this.clock());
          })
          .immediate(); // the write lock first: a read-then-write transaction could fail with SQLITE_BUSY
      },
      // A late exit may be reported after the store closed at shutdown: nothing to record then.
      ended: (pgid) =>
        quietly(() =>
          this.db
            .prepare(
              `UPDATE runbook_processes SET ended_at = ? WHERE run_id = ? AND step = ? AND attempt = ? AND pgid = ?`,
            )
            .run(this.clock(), runId, step, attempt, pgid),
        ),
    };
  }

  /** Groups of the step whose end was never seen (their controller died first). */
  unfinished(runId: string, step: string): ProcessGroupRow[] {
    return this.db
      .prepare(`SELECT * FROM runbook_processes WHERE run_id = ? AND step = ? AND ended_at IS NULL`)
      .all(runId, step) as ProcessGroupRow[];
  }

  list(runId: string): ProcessGroupRow[] {
    return this.db
      .prepare(`SELECT * FROM runbook_processes WHERE run_id = ? ORDER BY started_at`)
      .all(runId) as ProcessGroupRow[];
  }

  /**
   * Waits for an aborted or timed-out attempt's groups to end (they got SIGTERM), then
   * kills what is left, so the attempt is journaled as ended only once nothing of it runs.
   */
  async settleAttempt(runId: string, step: string, attempt: number, graceMs = 5_000): Promise<void> {
    const until = Date.now() + graceMs;
    const groups = this.unfinished(runId, step).filter((g) => g.attempt === attempt && g.host === hostname());
    while (groups.some((g) => processGroupAlive(g.pgid)) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.killSurvivors(runId, step);
  }

  /**
   * Kills and waits for every survivor of the step's earlier attempts on this host. A
   * group on another host cannot be reached from here: it is returned (for the log) and
   * left to its controller, which kills its steps when it loses the lease.
   */
  async killSurvivors(
    runId: string,
    step: string,
  ): Promise<{ killed: number; elsewhere: ProcessGroupRow[] }> {
    let killed = 0;
    const elsewhere: ProcessGroupRow[] = [];
    for (const group of this.unfinished(runId, step)) {
      if (group.host !== hostname()) {
        elsewhere.push(group);
        continue;
      }
      const alive = processGroupAlive(group.pgid);
      if (alive && !(await killProcessGroup(group.pgid))) {
        throw new Error(
          `process group ${group.pgid} of step ${step} (run ${runId}) survived SIGKILL; check it with ps -g ${group.pgid}`,
        );
      }
      if (alive) killed++;
      this.db
        .prepare(
          `UPDATE runbook_processes SET ended_at = ?, killed_at = ? WHERE run_id = ? AND step = ? AND attempt = ? AND pgid = ?`,
        )
        .run(this.clock(), alive ? this.clock() : null, runId, step, group.attempt, group.pgid);
    }
    return { killed, elsewhere };
  }
}
