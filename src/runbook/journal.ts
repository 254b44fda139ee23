import type { EvidenceItem } from '../core/index.js';
import type { StepState } from '../actions/index.js';
import { randomBytes } from 'node:crypto';
import {
  isUniqueViolation,
  type Fence,
  sqlDb,
  type DialectMigrations,
  type SqlDb,
  type SqliteDatabase,
  hostId,
} from '../store/index.js';

/**
 * The runbook journal: every run, stage, step, attempt and approval, written before and
 * after each happens (the store opens SQLite with synchronous = FULL), so a process
 * killed mid-failover leaves enough behind to resume without repeating finished work.
 * Other processes (`phoenix approve`, `phoenix abort`, the dashboard) talk to a running
 * engine only through these tables.
 */

/**
 * The journal's tables in either dialect: `real` is the floating-point type, `runExtra`
 * adds columns to runbook_runs (PostgreSQL's `seq`, which orders runs created in the same
 * instant as SQLite's rowid does, and the columns SQLite gained by a later migration).
 */
const journalTables = (real: string, runExtra: string) => `
CREATE TABLE runbook_runs (
  id TEXT PRIMARY KEY,
  runbook TEXT NOT NULL,
  status TEXT NOT NULL,
  active INTEGER,
  trigger TEXT,
  reason TEXT,
  plan_json TEXT NOT NULL,
  created_at ${real} NOT NULL,
  finished_at ${real},
  owner_host TEXT,
  owner_pid INTEGER,
  owner_token TEXT,
  heartbeat_at ${real},
  abort_requested_at ${real},
  abort_requested_by TEXT,
  error TEXT,
  report_json TEXT${runExtra}
);
-- One run at a time, enforced by the database so two processes cannot both start one.
CREATE UNIQUE INDEX runbook_runs_one_active ON runbook_runs (active) WHERE active = 1;
CREATE TABLE runbook_stages (
  run_id TEXT NOT NULL REFERENCES runbook_runs (id),
  stage_index INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at ${real},
  finished_at ${real},
  PRIMARY KEY (run_id, stage_index)
);
CREATE TABLE runbook_steps (
  run_id TEXT NOT NULL REFERENCES runbook_runs (id),
  name TEXT NOT NULL,
  stage_index INTEGER NOT NULL,
  step_index INTEGER NOT NULL,
  stage TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at ${real},
  finished_at ${real},
  summary TEXT,
  output_json TEXT,
  error TEXT,
  dns_ttl_s ${real},
  data_loss_s ${real},
  PRIMARY KEY (run_id, name)
);
CREATE TABLE runbook_attempts (
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at ${real} NOT NULL,
  finished_at ${real},
  outcome TEXT NOT NULL,
  summary TEXT,
  error TEXT,
  PRIMARY KEY (run_id, step, attempt)
);
CREATE TABLE runbook_approvals (
  run_id TEXT NOT NULL REFERENCES runbook_runs (id),
  gate TEXT NOT NULL,
  requested_at ${real} NOT NULL,
  decided_at ${real},
  decided_by TEXT,
  PRIMARY KEY (run_id, gate)
);`;

/** The decision that started a run, recorded with it rather than inferred from the decision log. */
const RUN_DECISION = {
  name: 'runbook/5-decision',
  sql: 'ALTER TABLE runbook_runs ADD COLUMN decision_json TEXT;',
};

/**
 * A step's resume state (what the cut-over, the promote, the reprotect, the dump and the http step have
 * done so far), in the store rather than in a directory of the controller's host: a controller on another
 * host that takes the run over continues the step where it was. Written under the leader's fence.
 */
const stepStateTable = (real: string) => ({
  name: 'runbook/6-step-state',
  sql: `
CREATE TABLE runbook_step_state (
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  state_json TEXT NOT NULL,
  saved_at ${real} NOT NULL,
  fencing_token INTEGER,
  PRIMARY KEY (run_id, step)
);`,
});

export const RUNBOOK_MIGRATIONS: DialectMigrations = {
  sqlite: [
    { name: 'runbook/1-journal', sql: journalTables('REAL', '') },
    {
      // The fencing token of the controller that last took the run, and an operator's reason
      // for starting a runbook inside the cooldown of the previous one.
      name: 'runbook/3-fencing',
      sql: `
ALTER TABLE runbook_runs ADD COLUMN fencing_token INTEGER;
ALTER TABLE runbook_runs ADD COLUMN cooldown_override TEXT;`,
    },
    {
      // Drill mode (src/runbook/drill-mode.ts): each rehearsal's cleanup, journaled before the rehearsal
      // starts, so a drill killed at any point still cleans up what it made.
      name: 'runbook/4-drill-cleanups',
      sql: drillCleanupTable('REAL'),
    },
    RUN_DECISION,
    stepStateTable('REAL'),
  ],
  postgres: [
    {
      name: 'runbook/1-journal',
      sql: journalTables(
        'DOUBLE PRECISION',
        ',\n  fencing_token INTEGER,\n  cooldown_override TEXT,\n  seq BIGSERIAL NOT NULL',
      ),
    },
    { name: 'runbook/4-drill-cleanups', sql: drillCleanupTable('DOUBLE PRECISION') },
    RUN_DECISION,
    stepStateTable('DOUBLE PRECISION'),
  ],
};

function drillCleanupTable(real: string): string {
  return `
CREATE TABLE runbook_drill_cleanups (
  run_id TEXT NOT NULL REFERENCES runbook_runs (id),
  step TEXT NOT NULL,
  type TEXT NOT NULL,
  seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  rehearsed_at ${real} NOT NULL,
  cleaned_at ${real},
  summary TEXT,
  left_json TEXT,
  error TEXT,
  PRIMARY KEY (run_id, step)
);`;
}

export type RunStatus = 'running' | 'waiting_approval' | 'succeeded' | 'failed' | 'aborted' | 'cleared';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'aborted';
export type AttemptOutcome = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'aborted';

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'aborted', 'cleared'];

export interface RunRow {
  id: string;
  runbook: string;
  status: RunStatus;
  active: number | null;
  trigger: string | null;
  reason: string | null;
  plan_json: string;
  created_at: number;
  finished_at: number | null;
  owner_host: string | null;
  owner_pid: number | null;
  owner_token: string | null;
  heartbeat_at: number | null;
  abort_requested_at: number | null;
  abort_requested_by: string | null;
  error: string | null;
  report_json: string | null;
  fencing_token: number | null;
  cooldown_override: string | null;
  decision_json: string | null;
}

/** The controller's decision that started a run: which cycle, what it scored, and why. */
export interface RunDecision {
  /** The history's cycle id (one decision per cycle); null when the cycle was not recorded. */
  cycle_id: number | null;
  at: number;
  action: string;
  score: number;
  level: string;
  category: string;
  confidence: string;
  reason: string;
  /** The evidence that moved the score (weight not 0). */
  evidence: EvidenceItem[];
}

export interface StageRow {
  run_id: string;
  stage_index: number;
  name: string;
  status: StepStatus;
  started_at: number | null;
  finished_at: number | null;
}

export interface StepRow {
  run_id: string;
  name: string;
  stage_index: number;
  step_index: number;
  stage: string;
  type: string;
  status: StepStatus;
  attempts: number;
  started_at: number | null;
  finished_at: number | null;
  summary: string | null;
  output_json: string | null;
  error: string | null;
  dns_ttl_s: number | null;
  data_loss_s: number | null;
}

export interface AttemptRow {
  run_id: string;
  step: string;
  attempt: number;
  started_at: number;
  finished_at: number | null;
  outcome: AttemptOutcome;
  summary: string | null;
  error: string | null;
}

export interface ApprovalRow {
  run_id: string;
  gate: string;
  requested_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

/** Who executes a run: this host and process, with a token so a restarted process with the same pid is not confused with the old one. */
export interface Owner {
  host: string;
  pid: number;
  token: string;
}

export function currentOwner(): Owner {
  return { host: hostId(), pid: process.pid, token: randomBytes(8).toString('hex') };
}

/** Thrown when a run cannot start or resume because another is active; the message says what to do. */
export class RunBusyError extends Error {
  constructor(
    message: string,
    readonly activeRunId: string,
  ) {
    super(message);
    this.name = 'RunBusyError';
  }
}

/** Thrown when a runbook would start inside the cooldown of its previous run; the message says how to override. */
export class CooldownError extends Error {
  constructor(
    message: string,
    readonly previousRunId: string,
  ) {
    super(message);
    this.name = 'CooldownError';
  }
}

/** A request the journal cannot honour (unknown run, finished run, nothing to approve); the message says why. */
export class RunStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunStateError';
  }
}

function newRunId(now: number): string {
  const stamp = new Date(now * 1000).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Runs this process is executing right now, by owner token (every Journal in the process shares it). */
const LIVE_TOKENS = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type { Fence };

export interface NewRun {
  runbook: string;
  trigger: string;
  reason?: string;
  plan: unknown;
  stages: Array<{ name: string; steps: Array<{ name: string; type: string }> }>;
  owner: Owner;
  /** Who overrode the cooldown and why, when the run starts inside one. */
  cooldownOverride?: string;
  /** The controller's decision that started it (absent for an operator's run). */
  decision?: RunDecision;
}

export interface StepResult {
  summary?: string;
  output?: unknown;
  error?: string;
  dnsTtlS?: number;
  dataLossS?: number;
}

export class Journal {
  readonly db: SqlDb;
  private readonly ready: Promise<void>;

  constructor(
    db: SqlDb | SqliteDatabase,
    private readonly clock: () => number = () => Date.now() / 1000,
    /** Seconds an owner on another host may stay silent before its run counts as interrupted. */
    readonly staleAfterS = 60,
    /**
     * The controller's fence: returns its fencing token, or throws (FencedError) when the
     * token is no longer the lease's. Called inside the transaction of every write the
     * executing controller makes, so a paused or partitioned ex-leader writes nothing.
     */
    private readonly fence?: Fence,
  ) {
    this.db = sqlDb(db);
    this.ready = this.db.migrate(RUNBOOK_MIGRATIONS);
  }

  /** Runs a write of the executing controller in one transaction with its fence check. */
  private async fenced<T>(write: () => Promise<T>): Promise<T> {
    await this.ready;
    if (!this.fence) return write();
    return this.db.transaction(async () => {
      await this.fence!();
      return write();
    });
  }

  private async all<T>(sql: string, params: Array<string | number | null>): Promise<T[]> {
    await this.ready;
    return this.db.all<T>(sql, params);
  }

  private async one<T>(sql: string, params: Array<string | number | null>): Promise<T | undefined> {
    await this.ready;
    return this.db.get<T>(sql, params);
  }

  now(): number {
    return this.clock();
  }

  /**
   * Resolves once the journal's tables exist. Needed before reading them through `db` directly: on
   * PostgreSQL migrations are asynchronous, and a fresh schema has no runbook_runs until they ran.
   */
  migrated(): Promise<void> {
    return this.ready;
  }

  /**
   * Whether a run's owner is still executing it: on this host, its process is alive
   * (a SIGKILLed controller is noticed at once); elsewhere, its heartbeat is fresh.
   */
  ownerAlive(run: RunRow): boolean {
    if (!run.owner_token || run.owner_pid === null) return false;
    if (run.owner_host === hostId()) {
      if (run.owner_pid === process.pid) return LIVE_TOKENS.has(run.owner_token);
      return pidAlive(run.owner_pid);
    }
    return run.heartbeat_at !== null && this.now() - run.heartbeat_at < this.staleAfterS;
  }

  markLive(token: string, live: boolean): void {
    if (live) LIVE_TOKENS.add(token);
    else LIVE_TOKENS.delete(token);
  }

  getRun(id: string): Promise<RunRow | undefined> {
    return this.one<RunRow>('SELECT * FROM runbook_runs WHERE id = ?', [id]);
  }

  async requireRun(id: string): Promise<RunRow> {
    const run = await this.getRun(id);
    if (!run) throw new RunStateError(`no run ${id}; list runs with phoenix runs`);
    return run;
  }

  /** Inside a transaction: the run, its row locked against another controller's claim (PostgreSQL). */
  private async lockRun(id: string): Promise<RunRow> {
    const run = await this.one<RunRow>(`SELECT * FROM runbook_runs WHERE id = ?${this.db.forUpdate}`, [id]);
    if (!run) throw new RunStateError(`no run ${id}; list runs with phoenix runs`);
    return run;
  }

  /** The newest run of a runbook, whatever its status. */
  lastRun(runbook: string): Promise<RunRow | undefined> {
    return this.one<RunRow>(
      `SELECT * FROM runbook_runs WHERE runbook = ? ORDER BY created_at DESC, ${this.db.insertionOrder} DESC LIMIT 1`,
      [runbook],
    );
  }

  activeRun(): Promise<RunRow | undefined> {
    return this.one<RunRow>('SELECT * FROM runbook_runs WHERE active = 1', []);
  }

  listRuns(limit = 50): Promise<RunRow[]> {
    return this.all<RunRow>(
      `SELECT * FROM runbook_runs ORDER BY created_at DESC, ${this.db.insertionOrder} DESC LIMIT ?`,
      [limit],
    );
  }

  /**
   * Every run that is marked active but whose owner is gone (killed mid-run), or, for a
   * leader holding fencing token `token`, whose owner took it under an older token (a
   * paused ex-leader: alive, but the store refuses its writes).
   */
  async interruptedRuns(token?: number): Promise<RunRow[]> {
    const rows = await this.all<RunRow>('SELECT * FROM runbook_runs WHERE active = 1', []);
    return rows.filter((r) => !this.ownerAlive(r) || (token !== undefined && (r.fencing_token ?? 0) < token));
  }

  stages(runId: string): Promise<StageRow[]> {
    return this.all<StageRow>('SELECT * FROM runbook_stages WHERE run_id = ? ORDER BY stage_index', [runId]);
  }

  steps(runId: string): Promise<StepRow[]> {
    return this.all<StepRow>(
      'SELECT * FROM runbook_steps WHERE run_id = ? ORDER BY stage_index, step_index',
      [runId],
    );
  }

  async step(runId: string, name: string): Promise<StepRow> {
    return (await this.one<StepRow>('SELECT * FROM runbook_steps WHERE run_id = ? AND name = ?', [
      runId,
      name,
    ]))!;
  }

  attempts(runId: string): Promise<AttemptRow[]> {
    return this.all<AttemptRow>(
      'SELECT * FROM runbook_attempts WHERE run_id = ? ORDER BY started_at, step, attempt',
      [runId],
    );
  }

  approvals(runId: string): Promise<ApprovalRow[]> {
    return this.all<ApprovalRow>('SELECT * FROM runbook_approvals WHERE run_id = ? ORDER BY requested_at', [
      runId,
    ]);
  }

  /**
   * Creates a run and its stage and step rows in one transaction, owned by `owner`.
   * The unique index on `active` refuses a second active run even from another process.
   */
  async createRun(input: NewRun): Promise<RunRow> {
    await this.ready;
    const id = newRunId(this.now());
    try {
      await this.db.transaction(() => this.insertRun(id, input));
    } catch (error) {
      if (isUniqueViolation(error)) {
        const active = await this.activeRun();
        if (active) throw this.busyError(active);
      }
      throw error;
    }
    this.markLive(input.owner.token, true);
    return this.requireRun(id);
  }

  private async insertRun(id: string, input: NewRun): Promise<void> {
    const now = this.now();
    const fencingToken = this.fence ? await this.fence() : null;
    await this.db.run(
      `INSERT INTO runbook_runs (id, runbook, status, active, trigger, reason, plan_json, created_at, owner_host, owner_pid, owner_token, heartbeat_at, fencing_token, cooldown_override, decision_json)
       VALUES (?, ?, 'running', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        input.runbook,
        input.trigger,
        input.reason ?? null,
        JSON.stringify(input.plan),
        now,
        input.owner.host,
        input.owner.pid,
        input.owner.token,
        now,
        fencingToken,
        input.cooldownOverride ?? null,
        input.decision ? JSON.stringify(input.decision) : null,
      ],
    );
    for (const [i, s] of input.stages.entries()) {
      await this.db.run(
        `INSERT INTO runbook_stages (run_id, stage_index, name, status) VALUES (?, ?, ?, 'pending')`,
        [id, i, s.name],
      );
      for (const [j, st] of s.steps.entries()) {
        await this.db.run(
          `INSERT INTO runbook_steps (run_id, name, stage_index, step_index, stage, type, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
          [id, st.name, i, j, s.name, st.type],
        );
      }
    }
  }

  busyError(active: RunRow): RunBusyError {
    const who = this.ownerAlive(active)
      ? `executed by pid ${active.owner_pid} on ${active.owner_host}`
      : 'interrupted (its process is gone)';
    const next = this.ownerAlive(active)
      ? `wait for it, watch it with phoenix runs, or stop it with phoenix abort ${active.id}`
      : `resume it with phoenix failover --resume ${active.id}, or phoenix abort ${active.id}`;
    return new RunBusyError(
      `run ${active.id} (${active.runbook}, ${active.status}) is already active, ${who}; ${next}`,
      active.id,
    );
  }

  /**
   * Takes over a run to resume it: refused while its owner lives or while another run is
   * active. One transaction holding the run (SQLite's write lock, PostgreSQL's row lock),
   * so two resuming processes cannot both win.
   */
  async claimRun(id: string, owner: Owner): Promise<RunRow> {
    await this.ready;
    const run = await this.db.transaction(async () => {
      const run = await this.lockRun(id);
      if (run.status === 'succeeded' || run.status === 'aborted' || run.status === 'cleared') {
        throw new RunStateError(`run ${id} already ended (${run.status}); nothing to resume`);
      }
      const fencingToken = this.fence ? await this.fence() : null;
      const superseded = fencingToken !== null && (run.fencing_token ?? 0) < fencingToken;
      if (run.active === 1 && this.ownerAlive(run) && !superseded) {
        throw new RunBusyError(
          `run ${id} is being executed by pid ${run.owner_pid} on ${run.owner_host}; it needs no resume (stop it with phoenix abort ${id})`,
          id,
        );
      }
      const active = await this.activeRun();
      if (active && active.id !== id) throw this.busyError(active);
      await this.db.run(
        `UPDATE runbook_runs SET active = 1, status = 'running', finished_at = NULL, error = NULL,
           owner_host = ?, owner_pid = ?, owner_token = ?, heartbeat_at = ?, fencing_token = ? WHERE id = ?`,
        [owner.host, owner.pid, owner.token, this.now(), fencingToken, id],
      );
      return this.requireRun(id);
    });
    this.markLive(owner.token, true);
    return run;
  }

  /** Refreshes the owner's heartbeat; returns whether an abort was requested. */
  async heartbeat(id: string, token: string): Promise<{ abortRequested: boolean; abortedBy: string | null }> {
    await this.fenced(() =>
      this.db.run('UPDATE runbook_runs SET heartbeat_at = ? WHERE id = ? AND owner_token = ?', [
        this.now(),
        id,
        token,
      ]),
    );
    const row = (await this.one<Pick<RunRow, 'abort_requested_at' | 'abort_requested_by'>>(
      'SELECT abort_requested_at, abort_requested_by FROM runbook_runs WHERE id = ?',
      [id],
    ))!;
    return { abortRequested: row.abort_requested_at !== null, abortedBy: row.abort_requested_by };
  }

  async setRunStatus(id: string, status: RunStatus): Promise<void> {
    await this.fenced(() => this.db.run('UPDATE runbook_runs SET status = ? WHERE id = ?', [status, id]));
  }

  async finishRun(
    id: string,
    token: string,
    status: RunStatus,
    error: string | null,
    report: unknown,
  ): Promise<void> {
    await this.fenced(() =>
      this.db.run(
        `UPDATE runbook_runs SET status = ?, active = NULL, finished_at = ?, error = ?, report_json = ? WHERE id = ?`,
        [status, this.now(), error, JSON.stringify(report), id],
      ),
    );
    this.markLive(token, false);
  }

  /** Lets go of a run without finishing it (the process is shutting down): it stays resumable. */
  release(token: string): void {
    this.markLive(token, false);
  }

  async stageStarted(runId: string, index: number): Promise<void> {
    await this.fenced(() =>
      this.db.run(
        `UPDATE runbook_stages SET status = 'running', started_at = COALESCE(started_at, ?) WHERE run_id = ? AND stage_index = ?`,
        [this.now(), runId, index],
      ),
    );
  }

  async stageFinished(runId: string, index: number, status: StepStatus): Promise<void> {
    await this.fenced(() =>
      this.db.run(
        `UPDATE runbook_stages SET status = ?, finished_at = ? WHERE run_id = ? AND stage_index = ?`,
        [status, this.now(), runId, index],
      ),
    );
  }

  /**
   * Records an attempt's start before the step's side effects begin, fenced in the same
   * transaction. An attempt left `running` by a killed process is marked `interrupted` first.
   */
  /**
   * Journals a new attempt. `failed` counts the earlier attempts that ended in a failure (not the ones a
   * killed process interrupted): it is the attempt part of the step's idempotency key, so a step resumed
   * after a crash sends the key it sent before, and a retry after a failure sends a new one.
   */
  async attemptStarted(
    runId: string,
    step: string,
  ): Promise<{ attempt: number; resumed: boolean; failed: number }> {
    await this.ready;
    return this.db.transaction(async () => {
      if (this.fence) await this.fence();
      const now = this.now();
      const { changes: interrupted } = await this.db.run(
        `UPDATE runbook_attempts SET outcome = 'interrupted', finished_at = ? WHERE run_id = ? AND step = ? AND outcome = 'running'`,
        [now, runId, step],
      );
      const row = (await this.one<StepRow>(
        `SELECT * FROM runbook_steps WHERE run_id = ? AND name = ?${this.db.forUpdate}`,
        [runId, step],
      ))!;
      const attempt = row.attempts + 1;
      await this.db.run(
        `INSERT INTO runbook_attempts (run_id, step, attempt, started_at, outcome) VALUES (?, ?, ?, ?, 'running')`,
        [runId, step, attempt, now],
      );
      await this.db.run(
        `UPDATE runbook_steps SET status = 'running', attempts = ?, started_at = COALESCE(started_at, ?), error = NULL
         WHERE run_id = ? AND name = ?`,
        [attempt, now, runId, step],
      );
      const failed = await this.one<{ n: number }>(
        `SELECT COUNT(*) AS n FROM runbook_attempts WHERE run_id = ? AND step = ? AND outcome = 'failed'`,
        [runId, step],
      );
      return {
        attempt,
        resumed: interrupted > 0 || row.status === 'running',
        failed: Number(failed?.n ?? 0),
      };
    });
  }

  async attemptFinished(
    runId: string,
    step: string,
    attempt: number,
    outcome: Exclude<AttemptOutcome, 'running'>,
    detail: { summary?: string; error?: string },
  ): Promise<void> {
    await this.fenced(() =>
      this.db.run(
        `UPDATE runbook_attempts SET outcome = ?, finished_at = ?, summary = ?, error = ? WHERE run_id = ? AND step = ? AND attempt = ?`,
        [outcome, this.now(), detail.summary ?? null, detail.error ?? null, runId, step, attempt],
      ),
    );
  }

  /** Counts attempts that really failed (not those cut short by a killed process). */
  async failedAttempts(runId: string, step: string): Promise<number> {
    const row = await this.one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM runbook_attempts WHERE run_id = ? AND step = ? AND outcome = 'failed'`,
      [runId, step],
    );
    return row!.n;
  }

  async stepFinished(runId: string, step: string, status: StepStatus, result: StepResult): Promise<void> {
    await this.fenced(() =>
      this.db.run(
        `UPDATE runbook_steps SET status = ?, finished_at = ?, summary = ?, output_json = ?, error = ?, dns_ttl_s = ?, data_loss_s = ?
         WHERE run_id = ? AND name = ?`,
        [
          status,
          this.now(),
          result.summary ?? null,
          result.output === undefined ? null : JSON.stringify(result.output),
          result.error ?? null,
          result.dnsTtlS ?? null,
          result.dataLossS ?? null,
          runId,
          step,
        ],
      ),
    );
  }

  /** What a step saved of its progress (see saveStepState), or undefined before its first save. */
  async stepState<T>(runId: string, step: string): Promise<T | undefined> {
    const row = await this.one<{ state_json: string }>(
      'SELECT state_json FROM runbook_step_state WHERE run_id = ? AND step = ?',
      [runId, step],
    );
    return row ? (JSON.parse(row.state_json) as T) : undefined;
  }

  /**
   * Keeps a step's progress in the store, replacing what it saved before, in one transaction with the
   * fence check: a deposed leader's step cannot overwrite what the new leader's attempt saved.
   */
  async saveStepState(runId: string, step: string, state: unknown): Promise<void> {
    await this.ready;
    await this.db.transaction(async () => {
      const token = this.fence ? await this.fence() : null;
      await this.db.run(
        `INSERT INTO runbook_step_state (run_id, step, state_json, saved_at, fencing_token) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, step) DO UPDATE
           SET state_json = excluded.state_json, saved_at = excluded.saved_at, fencing_token = excluded.fencing_token`,
        [runId, step, JSON.stringify(state), this.now(), token],
      );
    });
  }

  async skipPending(runId: string, reason: string): Promise<void> {
    await this.fenced(async () => {
      await this.db.run(
        `UPDATE runbook_steps SET status = 'skipped', summary = ? WHERE run_id = ? AND status IN ('pending', 'running')`,
        [reason, runId],
      );
      await this.db.run(
        `UPDATE runbook_stages SET status = 'skipped' WHERE run_id = ? AND status IN ('pending', 'running')`,
        [runId],
      );
    });
  }

  /** Opens an approval gate (idempotent); returns whether it is already decided. */
  async requestApproval(runId: string, gate: string): Promise<ApprovalRow> {
    await this.fenced(() =>
      this.db.run(
        `INSERT INTO runbook_approvals (run_id, gate, requested_at) VALUES (?, ?, ?) ON CONFLICT (run_id, gate) DO NOTHING`,
        [runId, gate, this.now()],
      ),
    );
    return this.approval(runId, gate);
  }

  async approval(runId: string, gate: string): Promise<ApprovalRow> {
    return (await this.one<ApprovalRow>('SELECT * FROM runbook_approvals WHERE run_id = ? AND gate = ?', [
      runId,
      gate,
    ]))!;
  }

  /** Approves a run's open gates (or one named gate). Works from any process. */
  async approve(runId: string, by: string, gate?: string): Promise<string[]> {
    const run = await this.requireRun(runId);
    if (FINISHED_RUN_STATUSES.includes(run.status)) {
      throw new RunStateError(`run ${runId} already ended (${run.status}); nothing to approve`);
    }
    const open = (
      await this.all<{ gate: string }>(
        'SELECT gate FROM runbook_approvals WHERE run_id = ? AND decided_at IS NULL',
        [runId],
      )
    )
      .map((r) => r.gate)
      .filter((g) => gate === undefined || g === gate);
    if (open.length === 0) {
      throw new RunStateError(
        gate
          ? `run ${runId} has no open approval named ${gate}; see its gates with phoenix runs --json`
          : `run ${runId} is not waiting for an approval (status ${run.status})`,
      );
    }
    for (const g of open) {
      await this.db.run(
        'UPDATE runbook_approvals SET decided_at = ?, decided_by = ? WHERE run_id = ? AND gate = ? AND decided_at IS NULL',
        [this.now(), by, runId, g],
      );
    }
    return open;
  }

  /**
   * Asks a run to stop. A live owner sees the request at its next heartbeat and stops its
   * steps; a run whose owner is gone is ended here and then.
   */
  async requestAbort(runId: string, by: string): Promise<{ ended: boolean; run: RunRow }> {
    await this.ready;
    return this.db.transaction(async () => {
      const run = await this.lockRun(runId);
      if (FINISHED_RUN_STATUSES.includes(run.status)) {
        throw new RunStateError(`run ${runId} already ended (${run.status}); nothing to abort`);
      }
      const now = this.now();
      await this.db.run(
        'UPDATE runbook_runs SET abort_requested_at = ?, abort_requested_by = ? WHERE id = ?',
        [now, by, runId],
      );
      if (run.active === 1 && this.ownerAlive(run))
        return { ended: false, run: await this.requireRun(runId) };
      await this.endAborted(runId, by, now);
      return { ended: true, run: await this.requireRun(runId) };
    });
  }

  private async endAborted(runId: string, by: string, now: number): Promise<void> {
    await this.db.run(
      `UPDATE runbook_runs SET status = 'aborted', active = NULL, finished_at = ?, error = ? WHERE id = ?`,
      [now, `aborted by ${by}`, runId],
    );
    await this.db.run(
      `UPDATE runbook_steps SET status = 'skipped', summary = 'run aborted' WHERE run_id = ? AND status = 'pending'`,
      [runId],
    );
    await this.db.run(`UPDATE runbook_steps SET status = 'aborted' WHERE run_id = ? AND status = 'running'`, [
      runId,
    ]);
  }
}

/** A step's resume state as the engine hands it to the step (StepContext.state): this run's, this step's. */
export function stepStateIn(journal: Journal, runId: string, step: string): StepState {
  return {
    load: <T>() => journal.stepState<T>(runId, step),
    save: (state: unknown) => journal.saveStepState(runId, step, state),
    loadOf: <T>(other: string) => journal.stepState<T>(runId, other),
  };
}
