export { openDatabase, migrate, sqlDb, SqliteSql, type SqliteDatabase } from './sqlite.js';
export {
  isUniqueViolation,
  StoreUnavailableError,
  type StoreHealth,
  type Dialect,
  type DialectMigrations,
  type Migration,
  type SqlDb,
  type SqlParam,
  type SqlRunner,
} from './sql.js';
export { HistoryStore, HISTORY_MIGRATIONS, type CycleRecord, type StoredDecision } from './history.js';
export {
  FencedError,
  type Fence,
  type Lease,
  type LeaseStore,
  type DecisionStateStore,
  type StoredState,
} from './ports.js';
export {
  SqliteLeaseStore,
  PostgresLeaseStore,
  SqlDecisionStateStore,
  FencedStateTable,
  leaseStoreOn,
  LEASE_MIGRATIONS,
  LEASE_NAME,
  holderId,
  holderGone,
} from './lease.js';
export { PostgresStore, redact } from './postgres.js';
export { hostId } from './host.js';
export { openStore, type StoreConfig } from './open.js';
export { SeenSignatureStore } from './signatures.js';
