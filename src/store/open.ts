import { PostgresStore } from './postgres.js';
import type { SqlDb } from './sql.js';
import { SqliteSql } from './sqlite.js';

export interface StoreConfig {
  driver: 'sqlite' | 'postgres';
  path: string;
  url?: string;
  schema?: string;
}

/**
 * Opens the configured store: the SQLite file (embedded, one controller) or the PostgreSQL
 * schema (several controllers). `store.url` has had its `${VAR}` references expanded by
 * the configuration loader.
 */
export async function openStore(store: StoreConfig): Promise<SqlDb> {
  if (store.driver === 'sqlite') return SqliteSql.open(store.path);
  if (!store.url)
    throw new Error(
      'store.driver is postgres but store.url is missing; set store.url: postgres://USER:${PHOENIX_PG_PASSWORD}@HOST:5432/DB',
    );
  return PostgresStore.open(store.url, store.schema ?? 'phoenix');
}
