export { openDatabase, migrate, type SqliteDatabase } from './sqlite.js';
