export { openDatabase, migrate, type SqliteDatabase } from './sqlite.js';
export { HistoryStore, HISTORY_MIGRATIONS, type CycleRecord, type StoredDecision } from './history.js';
export {
  FencedError,
  type Lease,
  type LeaseStore,
  type DecisionStateStore,
  type StoredState,
} from './ports.js';
export {
  SqliteLeaseStore,
  SqliteDecisionStateStore,
  LEASE_MIGRATIONS,
  LEASE_NAME,
  holderId,
  holderGone,
} from './lease.js';
export { PostgresStore, PostgresLeaseStore, PostgresDecisionStateStore } from './postgres.js';
