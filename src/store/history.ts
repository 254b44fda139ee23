import type {
  Analysis,
  Decision,
  IncidentContext,
  Level,
  ScoreResult,
  SignalSnapshot,
  SiteRole,
} from '../core/index.js';
import { sqlDb, type SqliteDatabase } from './sqlite.js';
import type { DialectMigrations, SqlDb } from './sql.js';

/** The history tables in either dialect: `real` the floating-point type, `id` the row id's. */
const historyTables = (real: string, id: string, ref: string) => `
      CREATE TABLE cycles (
        id ${id},
        at ${real} NOT NULL,
        reason TEXT NOT NULL,
        duration_ms ${real} NOT NULL,
        score INTEGER NOT NULL,
        level TEXT NOT NULL,
        signals TEXT NOT NULL,
        contributions TEXT NOT NULL,
        notes TEXT NOT NULL
      );
      CREATE INDEX cycles_at ON cycles (at);
      CREATE TABLE decisions (
        id ${id},
        cycle_id ${ref} NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
        at ${real} NOT NULL,
        action TEXT NOT NULL,
        level TEXT NOT NULL,
        score INTEGER NOT NULL,
        category TEXT NOT NULL,
        confidence TEXT NOT NULL,
        reason TEXT NOT NULL,
        blocked_by TEXT NOT NULL,
        analysis TEXT
      );
      CREATE INDEX decisions_at ON decisions (at);
      CREATE INDEX decisions_cycle ON decisions (cycle_id);
      CREATE INDEX decisions_action ON decisions (action, at);`;

/** The context each cycle decided on, so a recorded range can be exported as a scenario and replayed. */
const CYCLE_CONTEXT = { name: 'history/2', sql: `ALTER TABLE cycles ADD COLUMN context TEXT;` };

export const HISTORY_MIGRATIONS: DialectMigrations = {
  sqlite: [
    { name: 'history/1', sql: historyTables('REAL', 'INTEGER PRIMARY KEY', 'INTEGER') },
    CYCLE_CONTEXT,
  ],
  postgres: [
    { name: 'history/1', sql: historyTables('DOUBLE PRECISION', 'BIGSERIAL PRIMARY KEY', 'BIGINT') },
    CYCLE_CONTEXT,
  ],
};

/** What one controller cycle observed and concluded. */
export interface CycleRecord {
  /** Row id once stored. */
  id?: number;
  /** Unix seconds when the cycle started. */
  at: number;
  /** Why it ran: `schedule`, `webhook: ...`, `manual`. */
  reason: string;
  duration_ms: number;
  /** The site the cycle probed and decided for (the serving site), when the site state is known. Not stored. */
  site?: SiteRole;
  /** How long the analyzer took, when it ran this cycle. Not stored. */
  analysis_ms?: number;
  signals: SignalSnapshot;
  score: ScoreResult;
  decision: Decision;
  analysis?: Analysis;
  /** What the context gatherers returned, when they were asked (NULL in the store when they were not). */
  context?: IncidentContext;
}

export interface StoredDecision extends Decision {
  id: number;
  cycle_id: number;
}

interface CycleRow {
  id: number;
  at: number;
  reason: string;
  duration_ms: number;
  score: number;
  level: string;
  signals: string;
  contributions: string;
  notes: string;
  context: string | null;
  d_action: string;
  d_category: string;
  d_confidence: string;
  d_reason: string;
  d_blocked_by: string;
  d_analysis: string | null;
}

interface DecisionRow {
  id: number;
  cycle_id: number;
  at: number;
  action: string;
  level: string;
  score: number;
  category: string;
  confidence: string;
  reason: string;
  blocked_by: string;
  analysis: string | null;
}

function decisionFrom(row: DecisionRow): StoredDecision {
  const decision: StoredDecision = {
    id: row.id,
    cycle_id: row.cycle_id,
    at: row.at,
    action: row.action as Decision['action'],
    score: row.score,
    level: row.level as Level,
    category: row.category as Decision['category'],
    confidence: row.confidence as Decision['confidence'],
    reason: row.reason,
    blocked_by: JSON.parse(row.blocked_by) as string[],
  };
  if (row.analysis) decision.analysis = JSON.parse(row.analysis) as Analysis;
  return decision;
}

const CYCLE_SELECT = `
  SELECT c.*, d.action AS d_action, d.category AS d_category, d.confidence AS d_confidence,
         d.reason AS d_reason, d.blocked_by AS d_blocked_by, d.analysis AS d_analysis
    FROM cycles c JOIN decisions d ON d.cycle_id = c.id`;

/**
 * Cycles (signals, score, level) and the decision each one reached, kept for
 * `retention_s` seconds. The controller writes; the CLI, the HTTP API and the
 * dashboard read (WAL lets them read while it writes).
 */
export class HistoryStore {
  private lastPrune = 0;
  readonly db: SqlDb;
  private readonly ready: Promise<void>;

  constructor(
    db: SqlDb | SqliteDatabase,
    readonly retention_s: number = 7 * 86400,
    /** Prune at most this often; pruning on every write would be wasted work. */
    private readonly pruneEvery_s = 60,
  ) {
    this.db = sqlDb(db);
    this.ready = this.db.migrate(HISTORY_MIGRATIONS);
  }

  /** Stores a cycle and its decision in one transaction; returns the cycle id. Prunes old rows now and then. */
  async record(cycle: CycleRecord): Promise<number> {
    await this.ready;
    const id = await this.db.transaction(async () => {
      const row = await this.db.get<{ id: number }>(
        `INSERT INTO cycles (at, reason, duration_ms, score, level, signals, contributions, notes, context)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          cycle.at,
          cycle.reason,
          cycle.duration_ms,
          cycle.score.score,
          cycle.score.level,
          JSON.stringify(cycle.signals),
          JSON.stringify(cycle.score.contributions),
          JSON.stringify(cycle.score.notes),
          cycle.context ? JSON.stringify(cycle.context) : null,
        ],
      );
      const cycleId = row!.id;
      const d = cycle.decision;
      const analysis = d.analysis ?? cycle.analysis;
      await this.db.run(
        `INSERT INTO decisions (cycle_id, at, action, level, score, category, confidence, reason, blocked_by, analysis)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          cycleId,
          d.at,
          d.action,
          d.level,
          d.score,
          d.category,
          d.confidence,
          d.reason,
          JSON.stringify(d.blocked_by),
          analysis ? JSON.stringify(analysis) : null,
        ],
      );
      return cycleId;
    });
    if (cycle.at - this.lastPrune >= this.pruneEvery_s) await this.prune(cycle.at);
    return id;
  }

  /** Deletes cycles (and their decisions) older than the retention. Returns how many cycles went. */
  async prune(now: number): Promise<number> {
    await this.ready;
    this.lastPrune = now;
    const cutoff = now - this.retention_s;
    return (await this.db.run('DELETE FROM cycles WHERE at < ?', [cutoff])).changes;
  }

  private cycleFrom(row: CycleRow): CycleRecord {
    const decision: Decision = {
      at: row.at,
      action: row.d_action as Decision['action'],
      score: row.score,
      level: row.level as Level,
      category: row.d_category as Decision['category'],
      confidence: row.d_confidence as Decision['confidence'],
      reason: row.d_reason,
      blocked_by: JSON.parse(row.d_blocked_by) as string[],
    };
    if (row.d_analysis) decision.analysis = JSON.parse(row.d_analysis) as Analysis;
    const record: CycleRecord = {
      id: row.id,
      at: row.at,
      reason: row.reason,
      duration_ms: row.duration_ms,
      signals: JSON.parse(row.signals) as SignalSnapshot,
      score: {
        score: row.score,
        level: row.level as Level,
        contributions: JSON.parse(row.contributions) as ScoreResult['contributions'],
        notes: JSON.parse(row.notes) as string[],
      },
      decision,
      analysis: decision.analysis,
    };
    if (row.context) record.context = JSON.parse(row.context) as IncidentContext;
    return record;
  }

  async latest(): Promise<CycleRecord | undefined> {
    await this.ready;
    const row = await this.db.get<CycleRow>(`${CYCLE_SELECT} ORDER BY c.at DESC, c.id DESC LIMIT 1`);
    return row ? this.cycleFrom(row) : undefined;
  }

  async cycle(id: number): Promise<CycleRecord | undefined> {
    await this.ready;
    const row = await this.db.get<CycleRow>(`${CYCLE_SELECT} WHERE c.id = ?`, [id]);
    return row ? this.cycleFrom(row) : undefined;
  }

  /** Cycles from `since` (Unix seconds, inclusive), newest last; at most `limit` of the newest. */
  async cycles(options: { since?: number; until?: number; limit?: number } = {}): Promise<CycleRecord[]> {
    await this.ready;
    const rows = await this.db.all<CycleRow>(
      `SELECT * FROM (${CYCLE_SELECT} WHERE c.at >= ? AND c.at <= ? ORDER BY c.at DESC, c.id DESC LIMIT ?) AS recent ORDER BY at ASC, id ASC`,
      [options.since ?? 0, options.until ?? Number.MAX_SAFE_INTEGER, options.limit ?? 1000],
    );
    return rows.map((row) => this.cycleFrom(row));
  }

  /** The score over time, cheaply (no signal JSON), for charts. */
  async scores(
    options: { since?: number; limit?: number } = {},
  ): Promise<Array<{ at: number; score: number; level: Level }>> {
    await this.ready;
    return this.db.all(
      `SELECT * FROM (SELECT at, score, level FROM cycles WHERE at >= ? ORDER BY at DESC LIMIT ?) AS recent ORDER BY at ASC`,
      [options.since ?? 0, options.limit ?? 5000],
    );
  }

  /**
   * The newest decisions first. `actionsOnly` leaves out the quiet "no action"
   * decisions that every healthy cycle yields.
   */
  async decisions(
    options: { limit?: number; actionsOnly?: boolean; since?: number } = {},
  ): Promise<StoredDecision[]> {
    await this.ready;
    const where = options.actionsOnly ? `AND action <> 'none'` : '';
    const rows = await this.db.all<DecisionRow>(
      `SELECT * FROM decisions WHERE at >= ? ${where} ORDER BY at DESC, id DESC LIMIT ?`,
      [options.since ?? 0, options.limit ?? 20],
    );
    return rows.map(decisionFrom);
  }

  async count(): Promise<{ cycles: number; decisions: number }> {
    await this.ready;
    const cycles = (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM cycles'))!.n;
    const decisions = (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM decisions'))!.n;
    return { cycles, decisions };
  }
}
