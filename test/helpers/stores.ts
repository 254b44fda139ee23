import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore, SqliteSql, type LeaseStore, type SqlDb } from '../../src/store/index.js';

export const PG_URL = process.env.PHOENIX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh store, a second connection to it (as a restarted process would open), and its cleanup. */
  open(): Promise<{ db: SqlDb; reopen(): Promise<SqlDb>; close(): Promise<void> }>;
}

/** Both stores: the embedded SQLite file and the PostgreSQL this machine runs (a scratch schema each). */
export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const path = join(mkdtempSync(join(tmpdir(), 'phoenix-contract-')), 'phoenix.db');
      const db = SqliteSql.open(path);
      return { db, reopen: async () => SqliteSql.open(path), close: () => db.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      // A scratch schema of its own: other engineers' tests use the same server at the same time.
      const schema = `phoenix_test_${randomBytes(6).toString('hex')}`;
      const db = await PostgresStore.open(PG_URL, schema);
      return {
        db,
        reopen: () => PostgresStore.open(PG_URL, schema),
        close: async () => {
          await db.dropSchema();
          await db.close();
        },
      };
    },
  },
];

/** Waits (by asking the store, not by sleeping a fixed time) until `holder` can take the lease. */
export async function takeWhenExpired(lease: LeaseStore, holder: string, ttl_s: number) {
  const until = Date.now() + 10_000;
  for (;;) {
    const result = await lease.acquire(holder, ttl_s);
    if (result.acquired) return result.lease;
    if (Date.now() > until) throw new Error('the lease never expired');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Renews `holder`'s live lease with a very short expiry (a renewal keeps the token), so a test can
 * take a long lease while it writes, however loaded the machine, and then let the next leader in.
 */
export async function cutShort(lease: LeaseStore, holder: string): Promise<void> {
  const renewed = await lease.acquire(holder, 0.05);
  if (!renewed.acquired) throw new Error(`${holder} no longer held the lease it was to cut short`);
}
