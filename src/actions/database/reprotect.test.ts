import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query, startPrimary, waitUntil, type PostgresCluster } from '../../lab/index.js';
import { restartCluster } from '../../lab/postgres.js';
import { ADMIN_ROLE, APP_ROLE, createManagedDatabase, roleUrl } from '../../lab/managed.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { databaseAdapter } from './database.js';
import { databaseParamsSchema } from './config.js';

// Reprotect against what a subscription really goes through: a copy that failed before (the cumulative
// error counters remember it for ever) and a publisher whose WAL cannot be decoded.
const DB = 'shop';
let base: string;
let publisher: PostgresCluster;
let subscriber: PostgresCluster;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-reprotect-unit-'));
  [publisher, subscriber] = await Promise.all([
    startPrimary({ baseDir: join(base, 'pub') }),
    startPrimary({ baseDir: join(base, 'sub') }),
  ]);
  // The subscriber lacks a column: the initial copy fails until the schema is made the same.
  await createManagedDatabase(publisher, DB, 'CREATE TABLE orders (id int PRIMARY KEY, note text)', {
    replication: true,
  });
  await createManagedDatabase(subscriber, DB, 'CREATE TABLE orders (id int PRIMARY KEY)', {
    replication: false,
  });
  await query(
    roleUrl(publisher, APP_ROLE, DB),
    "INSERT INTO orders SELECT g, 'n' FROM generate_series(1, 50) g",
  );
});

after(async () => {
  await Promise.allSettled([publisher?.stop(), subscriber?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

const params = (wait: number, from = publisher) =>
  databaseParamsSchema.parse({
    action: 'reprotect',
    publisher: roleUrl(from, ADMIN_ROLE, DB),
    subscriber: roleUrl(subscriber, ADMIN_ROLE, DB),
    subscriber_owner: subscriber.connectionString(DB),
    app_roles: [APP_ROLE],
    keep_old_rows: false,
    wait,
  });

test('errors a subscription had before (cumulative pg_stat_subscription_stats) do not fail a reprotect that now copies', async () => {
  const ctx = stepContext();
  await assert.rejects(databaseAdapter.run(params(1), ctx), /initial copy not finished after 1s/);
  await waitUntil(
    async () =>
      (
        await query<{ n: number }>(
          subscriber.connectionString(DB),
          'SELECT sync_error_count::int AS n FROM pg_stat_subscription_stats',
        )
      )[0]?.n > 0,
    30_000,
    'the failed copy to be counted',
    100,
  );
  // The cause is fixed; the counter keeps the old failure, and the run again (the table copy is retried
  // every wal_retrieve_retry_interval, 5 s) must complete.
  await query(
    subscriber.connectionString(DB),
    'BEGIN READ WRITE; ALTER TABLE orders ADD COLUMN note text; COMMIT',
  );
  const done = await databaseAdapter.run(params(30), stepContext({ workDir: ctx.workDir, resumed: true }));
  assert.match(done.summary, /streaming/);
  const [{ n }] = await query<{ n: number }>(
    subscriber.connectionString(DB),
    'SELECT count(*)::int AS n FROM orders',
  );
  assert.equal(n, 50);
});

test("reprotect's pre-flight refuses a publisher whose wal_level is not logical, naming the setting", async () => {
  const ok = await databaseAdapter.preflight(params(30), preflightContext());
  assert.deepEqual(
    ok.find((c) => c.check === 'publisher wal_level is logical'),
    { check: 'publisher wal_level is logical', ok: true, detail: 'wal_level = logical' },
  );
  // The subscriber holds no slot, so it may restart with replica WAL; as a publisher it would fail.
  await query(subscriber.connectionString(), "ALTER SYSTEM SET wal_level = 'replica'");
  await subscriber.stop();
  subscriber = await restartCluster(subscriber.dataDir, subscriber.port, subscriber.binDir);
  const checks = await databaseAdapter.preflight(params(30, subscriber), preflightContext());
  const wal = checks.find((c) => c.check === 'publisher wal_level is logical')!;
  assert.equal(wal.ok, false);
  assert.match(wal.detail, /wal_level = replica: .*rds\.logical_replication = 1/);
});
