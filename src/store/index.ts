export { openDatabase, migrate, type SqliteDatabase } from './sqlite.js';
export { HistoryStore, HISTORY_MIGRATIONS, type CycleRecord, type StoredDecision } from './history.js';
