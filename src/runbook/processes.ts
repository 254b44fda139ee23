import { killProcessGroup, processGroupAlive, type ProcessGroupTracker } from '../actions/index.js';
import { hostId, sqlDb, type DialectMigrations, type SqlDb, type SqliteDatabase } from '../store/index.js';
import type { Fence } from './journal.js';

const processTable = (real: string) => ({
  name: 'runbook/2-process-groups',
  sql: `
CREATE TABLE runbook_processes (
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  pgid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at ${real} NOT NULL,
  ended_at ${real},
  killed_at ${real},
  PRIMARY KEY (run_id, step, attempt, pgid)
);`,
});

export const PROCESS_MIGRATIONS: DialectMigrations = {
  sqlite: [processTable('REAL')],
  postgres: [processTable('DOUBLE PRECISION')],
};

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
  private readonly db: SqlDb;
  private readonly ready: Promise<void>;

  constructor(
    db: SqlDb | SqliteDatabase,
    private readonly clock: () => number,
    /** The controller's fence: a program is journaled (and so started) only by the leader. */
    private readonly fence?: Fence,
  ) {
    this.db = sqlDb(db);
    this.ready = this.db.migrate(PROCESS_MIGRATIONS);
  }

  tracker(runId: string, step: string, attempt: number): ProcessGroupTracker {
    return {
      // Errors propagate: a program whose group is not journaled must not start.
      started: async (pgid) => {
        await this.ready;
        await this.db.transaction(async () => {
          if (this.fence) await this.fence();
          await this.db.run(
            `INSERT INTO runbook_processes (run_id, step, attempt, pgid, host, started_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (run_id, step, attempt, pgid)
             DO UPDATE SET host = excluded.host, started_at = excluded.started_at, ended_at = NULL, killed_at = NULL`,
            [runId, step, attempt, pgid, hostId(), this.clock()],
          );
        });
      },
      // A late exit may be reported after the store closed at shutdown: nothing to record then
      // (the survivor check finds the group by its pgid anyway).
      ended: (pgid) =>
        this.db
          .run(
            `UPDATE runbook_processes SET ended_at = ? WHERE run_id = ? AND step = ? AND attempt = ? AND pgid = ?`,
            [this.clock(), runId, step, attempt, pgid],
          )
          .then(
            () => undefined,
            () => undefined,
          ),
    };
  }

  /** Groups of the step whose end was never seen (their controller died first). */
  async unfinished(runId: string, step: string): Promise<ProcessGroupRow[]> {
    await this.ready;
    return this.db.all<ProcessGroupRow>(
      `SELECT * FROM runbook_processes WHERE run_id = ? AND step = ? AND ended_at IS NULL`,
      [runId, step],
    );
  }

  async list(runId: string): Promise<ProcessGroupRow[]> {
    await this.ready;
    return this.db.all<ProcessGroupRow>(
      `SELECT * FROM runbook_processes WHERE run_id = ? ORDER BY started_at`,
      [runId],
    );
  }

  /**
   * Waits for an aborted or timed-out attempt's groups to end (they got SIGTERM), then
   * kills what is left, so the attempt is journaled as ended only once nothing of it runs.
   */
  async settleAttempt(runId: string, step: string, attempt: number, graceMs = 5_000): Promise<void> {
    const until = Date.now() + graceMs;
    const groups = (await this.unfinished(runId, step)).filter(
      (g) => g.attempt === attempt && g.host === hostId(),
    );
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
    for (const group of await this.unfinished(runId, step)) {
      if (group.host !== hostId()) {
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
      await this.db.run(
        `UPDATE runbook_processes SET ended_at = ?, killed_at = ? WHERE run_id = ? AND step = ? AND attempt = ? AND pgid = ?`,
        [this.clock(), alive ? this.clock() : null, runId, step, group.attempt, group.pgid],
      );
    }
    return { killed, elsewhere };
  }
}
