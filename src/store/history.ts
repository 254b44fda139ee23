import type {
  Analysis,
  Decision,
  IncidentContext,
  Level,
  ScoreResult,
  SignalSnapshot,
} from '../core/index.js';
import { migrate, type SqliteDatabase } from './sqlite.js';

export const HISTORY_MIGRATIONS = [
  {
    name: 'history/1',
    sql: `
      CREATE TABLE cycles (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        reason TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        score INTEGER NOT NULL,
        level TEXT NOT NULL,
        signals TEXT NOT NULL,
        contributions TEXT NOT NULL,
        notes TEXT NOT NULL
      );
      CREATE INDEX cycles_at ON cycles (at);
      CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        cycle_id INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
        at REAL NOT NULL,
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
      CREATE INDEX decisions_action ON decisions (action, at);`,
  },
  {
    // The context each cycle decided on, so a recorded range can be exported as a scenario and replayed.
    name: 'history/2',
    sql: `ALTER TABLE cycles ADD COLUMN context TEXT;`,
  },
];

/** What one controller cycle observed and concluded. */
export interface CycleRecord {
  /** Row id once stored. */
  id?: number;
  /** Unix seconds when the cycle started. */
  at: number;
  /** Why it ran: `schedule`, `webhook: ...`, `manual`. */
  reason: string;
  duration_ms: number;
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
  private readonly insertCycle;
  private readonly insertDecision;

  constructor(
    readonly db: SqliteDatabase,
    readonly retention_s: number = 7 * 86400,
    /** Prune at most this often; pruning on every write would be wasted work. */
    private readonly pruneEvery_s = 60,
  ) {
    migrate(db, HISTORY_MIGRATIONS);
    this.insertCycle = db.prepare(
      `INSERT INTO cycles (at, reason, duration_ms, score, level, signals, contributions, notes, context)
       VALUES (@at, @reason, @duration_ms, @score, @level, @signals, @contributions, @notes, @context)`,
    );
    this.insertDecision = db.prepare(
      `INSERT INTO decisions (cycle_id, at, action, level, score, category, confidence, reason, blocked_by, analysis)
       VALUES (@cycle_id, @at, @action, @level, @score, @category, @confidence, @reason, @blocked_by, @analysis)`,
    );
  }

  /** Stores a cycle and its decision in one transaction; returns the cycle id. Prunes old rows now and then. */
  record(cycle: CycleRecord): number {
    const id = this.db.transaction(() => {
      const info = this.insertCycle.run({
        at: cycle.at,
        reason: cycle.reason,
        duration_ms: cycle.duration_ms,
        score: cycle.score.score,
        level: cycle.score.level,
        signals: JSON.stringify(cycle.signals),
        contributions: JSON.stringify(cycle.score.contributions),
        notes: JSON.stringify(cycle.score.notes),
        context: cycle.context ? JSON.stringify(cycle.context) : null,
      });
      const cycleId = Number(info.lastInsertRowid);
      const d = cycle.decision;
      const analysis = d.analysis ?? cycle.analysis;
      this.insertDecision.run({
        cycle_id: cycleId,
        at: d.at,
        action: d.action,
        level: d.level,
        score: d.score,
        category: d.category,
        confidence: d.confidence,
        reason: d.reason,
        blocked_by: JSON.stringify(d.blocked_by),
        analysis: analysis ? JSON.stringify(analysis) : null,
      });
      return cycleId;
    })();
    if (cycle.at - this.lastPrune >= this.pruneEvery_s) this.prune(cycle.at);
    return id;
  }

  /** Deletes cycles (and their decisions) older than the retention. Returns how many cycles went. */
  prune(now: number): number {
    this.lastPrune = now;
    const cutoff = now - this.retention_s;
    return this.db.prepare('DELETE FROM cycles WHERE at < ?').run(cutoff).changes;
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

  latest(): CycleRecord | undefined {
    const row = this.db.prepare(`${CYCLE_SELECT} ORDER BY c.at DESC, c.id DESC LIMIT 1`).get() as
      CycleRow | undefined;
    return row ? this.cycleFrom(row) : undefined;
  }

  cycle(id: number): CycleRecord | undefined {
    const row = this.db.prepare(`${CYCLE_SELECT} WHERE c.id = ?`).get(id) as CycleRow | undefined;
    return row ? this.cycleFrom(row) : undefined;
  }

  /** Cycles from `since` (Unix seconds, inclusive), newest last; at most `limit` of the newest. */
  cycles(options: { since?: number; until?: number; limit?: number } = {}): CycleRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM (${CYCLE_SELECT} WHERE c.at >= ? AND c.at <= ? ORDER BY c.at DESC, c.id DESC LIMIT ?) ORDER BY at ASC, id ASC`,
      )
      .all(options.since ?? 0, options.until ?? Number.MAX_SAFE_INTEGER, options.limit ?? 1000) as CycleRow[];
    return rows.map((row) => this.cycleFrom(row));
  }

  /** The score over time, cheaply (no signal JSON), for charts. */
  scores(
    options: { since?: number; limit?: number } = {},
  ): Array<{ at: number; score: number; level: Level }> {
    return this.db
      .prepare(
        `SELECT * FROM (SELECT at, score, level FROM cycles WHERE at >= ? ORDER BY at DESC LIMIT ?) ORDER BY at ASC`,
      )
      .all(options.since ?? 0, options.limit ?? 5000) as Array<{ at: number; score: number; level: Level }>;
  }

  /**
   * The newest decisions first. `actionsOnly` leaves out the quiet "no action"
   * decisions that every healthy cycle yields.
   */
  decisions(options: { limit?: number; actionsOnly?: boolean; since?: number } = {}): StoredDecision[] {
    const where = options.actionsOnly ? `AND action <> 'none'` : '';
    const rows = this.db
      .prepare(`SELECT * FROM decisions WHERE at >= ? ${where} ORDER BY at DESC, id DESC LIMIT ?`)
      .all(options.since ?? 0, options.limit ?? 20) as DecisionRow[];
    return rows.map(decisionFrom);
  }

  count(): { cycles: number; decisions: number } {
    const cycles = (this.db.prepare('SELECT count(*) AS n FROM cycles').get() as { n: number }).n;
    const decisions = (this.db.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n;
    return { cycles, decisions };
  }
}
