import type { Action } from '../core/index.js';
import {
  FencedStateTable,
  LEASE_NAME,
  sqlDb,
  type DialectMigrations,
  type SqlDb,
  type SqliteDatabase,
} from '../store/index.js';

/**
 * What on-call has been told, kept in the store so a restarted controller, or the
 * follower that takes over, neither sends it again nor leaves open what it opened.
 */
export interface NotifierState {
  /** The incident in progress: its first decision's time keys PagerDuty, its last sends limit repeats. */
  incident?: { since: number; sent: Partial<Record<Action, number>>; notified: boolean };
  /** Approval gates waiting, by run: their alerts resolve when approved or when the run ends. */
  approvals: Record<string, string[]>;
  /** A "runbooks NOT ready" alert was sent and not yet resolved. */
  notReadyAlert?: boolean;
}

const NOTIFICATION_TABLES = {
  name: 'notifications/1-state',
  sql: `
      CREATE TABLE notification_state (
        name TEXT PRIMARY KEY,
        state_json TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        token INTEGER
      );`,
};

/** The same SQL in both dialects. */
export const NOTIFICATION_MIGRATIONS: DialectMigrations = {
  sqlite: [NOTIFICATION_TABLES],
  postgres: [NOTIFICATION_TABLES],
};

/** The notifier's state in the controller's store (SQLite or PostgreSQL), saved fenced by the leader's token. */
export class NotificationStateStore extends FencedStateTable<NotifierState> {
  constructor(db: SqlDb | SqliteDatabase, clock?: () => number, name = LEASE_NAME) {
    const port = sqlDb(db);
    super(port, 'notification_state', name, clock, port.migrate(NOTIFICATION_MIGRATIONS));
  }
}
