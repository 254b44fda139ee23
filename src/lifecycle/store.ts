import {
  FencedStateTable,
  LEASE_NAME,
  sqlDb,
  type DialectMigrations,
  type SqlDb,
  type SqliteDatabase,
} from '../store/index.js';
import { INITIAL_STATE, transition, type Cause, type SiteEvent, type SiteState } from './state.js';
import { activePause, type Pause } from './pause.js';

/** The serving site's state and the journal of every change to it, with who or what caused it. */
const sitesTables = (id: string) => ({
  name: 'lifecycle/1-site-state',
  sql: `
      CREATE TABLE site_state (
        name TEXT PRIMARY KEY,
        state_json TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        token INTEGER
      );
      CREATE TABLE site_events (
        id ${id},
        at DOUBLE PRECISION NOT NULL,
        event_json TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        caused_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        token INTEGER
      );
      CREATE INDEX site_events_at ON site_events (at);`,
});

export const LIFECYCLE_MIGRATIONS: DialectMigrations = {
  sqlite: [sitesTables('INTEGER PRIMARY KEY')],
  postgres: [sitesTables('BIGSERIAL PRIMARY KEY')],
};

/** One journaled change of the site state. */
export interface SiteEventRecord {
  id: number;
  at: number;
  event: SiteEvent | { type: 'paused' | 'resumed' };
  from_state: string;
  to_state: string;
  caused_by: string;
  reason: string;
  token: number | null;
}

interface EventRow extends Omit<SiteEventRecord, 'event'> {
  event_json: string;
}

/** A short form of a state for the journal: the state, and the old primary's fence when there is one. */
function label(s: SiteState): string {
  return s.old_primary ? `${s.state} (old ${s.old_primary.site}: ${s.old_primary.fence})` : s.state;
}

/**
 * The site state in the controller's store (SQLite or PostgreSQL). `apply` reads the state,
 * computes the transition and saves it with its journal line in one transaction; with a
 * fencing token, the store refuses it (FencedError) unless the token is the live lease's, so
 * a controller that lost the lead cannot move the site state its successor owns.
 */
export class SiteStateStore {
  readonly db: SqlDb;
  private readonly table: FencedStateTable<SiteState>;
  private readonly pauses: FencedStateTable<Pause | null>;
  private readonly ready: Promise<void>;

  constructor(db: SqlDb | SqliteDatabase, clock?: () => number, name = LEASE_NAME) {
    this.db = sqlDb(db);
    this.ready = this.db.migrate(LIFECYCLE_MIGRATIONS);
    this.table = new FencedStateTable<SiteState>(this.db, 'site_state', name, clock, this.ready);
    this.pauses = new FencedStateTable<Pause | null>(
      this.db,
      'site_state',
      `${name}:pause`,
      clock,
      this.ready,
    );
  }

  /** The pause in force at `now` (an expired one is no pause). */
  async pause(now: number): Promise<Pause | undefined> {
    return activePause((await this.pauses.load())?.state, now);
  }

  /**
   * Pauses automation until `pause.until`, or lifts the pause (null); journaled with who and why.
   * An operator's command from any process: not fenced, as approvals are not.
   */
  async setPause(pause: Pause | null, cause: Cause, now: number): Promise<void> {
    await this.ready;
    await this.db.transaction(async () => {
      const before = await this.pause(now);
      await this.pauses.save(pause, now);
      const state = await this.current();
      const what = (p: Pause | undefined) =>
        p ? `${state.state}, paused until ${new Date(p.until * 1000).toISOString()}` : state.state;
      await this.journal(
        now,
        { type: pause ? 'paused' : 'resumed' },
        what(before),
        what(pause ?? undefined),
        cause,
      );
    });
  }

  private async journal(
    now: number,
    event: SiteEvent | { type: 'paused' | 'resumed' },
    from: string,
    to: string,
    cause: Cause,
    token?: number,
  ): Promise<void> {
    await this.db.run(
      `INSERT INTO site_events (at, event_json, from_state, to_state, caused_by, reason, token)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [now, JSON.stringify(event), from, to, cause.by, cause.reason, token ?? null],
    );
  }

  /** The state now; a store that never failed over is `primary_active`. */
  async current(): Promise<SiteState> {
    return (await this.table.load())?.state ?? INITIAL_STATE;
  }

  /**
   * Applies one event. Returns the state before and after; an event that changes nothing
   * (a repeat, a run outside the lifecycle) is neither saved nor journaled. A check of the old
   * primary (`fence_checked`) is saved but journaled only when what it found changed.
   */
  async apply(
    event: SiteEvent,
    cause: Cause,
    now: number,
    token?: number,
  ): Promise<{ before: SiteState; after: SiteState; changed: boolean }> {
    await this.ready;
    return this.db.transaction(async () => {
      const before = await this.current();
      const after = transition(before, event, now);
      const changed = JSON.stringify(before) !== JSON.stringify(after);
      if (!changed) return { before, after, changed };
      await this.table.save(after, now, token);
      const quietCheck =
        event.type === 'fence_checked' &&
        before.old_primary?.reachable === after.old_primary?.reachable &&
        before.old_primary?.writable === after.old_primary?.writable;
      if (!quietCheck) await this.journal(now, event, label(before), label(after), cause, token);
      return { before, after, changed };
    });
  }

  /** The journal of changes, newest last; at most `limit` of the newest. */
  async events(limit = 100): Promise<SiteEventRecord[]> {
    await this.ready;
    const rows = await this.db.all<EventRow>(
      `SELECT * FROM (SELECT * FROM site_events ORDER BY id DESC LIMIT ?) AS recent ORDER BY id ASC`,
      [limit],
    );
    return rows.map(({ event_json, ...row }) => ({
      ...row,
      token: row.token === null ? null : Number(row.token),
      event: JSON.parse(event_json) as SiteEventRecord['event'],
    }));
  }
}
