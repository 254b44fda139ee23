import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../src/config/index.js';
import { startPrimary, query, waitUntil, type PostgresCluster } from '../src/lab/index.js';
import { APP_ROLE, logicalPair, roleUrl } from '../src/lab/managed.js';
import { RunbookEngine } from '../src/runbook/index.js';
import { leaseStoreOn, type Fence, type SqlDb } from '../src/store/index.js';
import { BACKENDS, cutShort, takeWhenExpired, type Backend } from './helpers/stores.js';
import { cutoverFailover } from './helpers/takeover.js';

/**
 * Controller A runs the logical cut-over and is deposed in the middle of it (after the sequences moved,
 * before the database opened for writes); controller B, on another host (its own work directory, its own
 * connection to the same store), takes the run over. B must continue A's step, not start it again: the
 * sequence gap applied once. On both stores: the embedded SQLite file and PostgreSQL (a scratch schema of
 * the machine's server), which is what controllers on different hosts share; each store its own database
 * pair on the same two clusters.
 */
const GAP = 1000;
const SCHEMA = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';
let base: string;
let publisher: PostgresCluster;
let subscriber: PostgresCluster;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-takeover-'));
  [publisher, subscriber] = await Promise.all([
    startPrimary({ baseDir: join(base, 'pub') }),
    startPrimary({ baseDir: join(base, 'sub') }),
  ]);
});

after(async () => {
  await Promise.allSettled([publisher?.stop(), subscriber?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

/** The fence a controller holding `token` gives its engine. */
function fenceOf(db: SqlDb, token: number): Fence {
  const lease = leaseStoreOn(db);
  return async () => {
    await lease.assertToken(token);
    return token;
  };
}

for (const backend of BACKENDS)
  test(`${backend.name}: a controller on another host that takes over a cut-over in the middle continues it from the store: the sequence gap is applied once`, () =>
    takeOverCutover(backend, `shop_${backend.name}`));

async function takeOverCutover(backend: Backend, database: string): Promise<void> {
  await logicalPair(publisher, subscriber, database, SCHEMA, 60_000);
  await query(
    roleUrl(publisher, APP_ROLE, database),
    "INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 50) g",
  );
  await waitUntil(
    async () =>
      (
        await query<{ n: number }>(
          subscriber.connectionString(database),
          'SELECT count(*)::int AS n FROM orders',
        )
      )[0].n === 50,
    60_000,
    'the 50 rows to reach the subscriber',
  );
  const config = parseConfig({
    // The engines are handed their store; this section is not what they write to.
    store: { path: join(base, 'unused.db') },
    ...cutoverFailover(subscriber, publisher, database, GAP),
  });
  // Two hosts: each its own connection to the store and its own work directory.
  const store = await backend.open();
  const storeA = store.db;
  const storeB = await store.reopen();
  // Holds the subscriber's database settings row: A's cut-over waits on it when it opens the database for
  // writes, after it advanced the sequences.
  const blocker = new pg.Client({ connectionString: subscriber.connectionString(database) });
  blocker.on('error', () => undefined);
  await blocker.connect();
  try {
    const leaseA = leaseStoreOn(storeA);
    const a = await leaseA.acquire('host-a:1:a', 600);
    const engineA = new RunbookEngine({
      db: storeA,
      config,
      pollMs: 100,
      workDir: join(base, 'host-a'),
      fence: fenceOf(storeA, a.lease.token),
    });
    await blocker.query('BEGIN READ WRITE');
    await blocker.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    const handleA = await engineA.start('dr_failover', { trigger: 'test' });
    const doneA = handleA.done.then(
      (report) => report.status,
      (error: Error) => `stopped: ${error.message}`,
    );
    await waitUntil(
      async () =>
        // From a connection of its own: inside the blocker's transaction, pg_stat_activity stays as first read.
        (
          await query(
            subscriber.connectionString('postgres'),
            `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER DATABASE%RESET%'`,
          )
        ).length === 1,
      120_000,
      "A's cut-over to wait for the database settings, its sequences advanced",
    );
    // A is deposed (a partition, a pause): its lease expires, B takes it, and A stops its run.
    await cutShort(leaseA, 'host-a:1:a');
    const b = await takeWhenExpired(leaseStoreOn(storeB), 'host-b:1:b', 600);
    engineA.stopAll(new Error('lost the lease'));
    assert.notEqual(await doneA, 'succeeded');
    // A's statement dies with A; then the settings row is free again.
    await query(
      subscriber.connectionString('postgres'),
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'ALTER DATABASE%RESET%' AND pid <> pg_backend_pid()`,
    );
    await blocker.query('ROLLBACK');

    const engineB = new RunbookEngine({
      db: storeB,
      config,
      pollMs: 100,
      workDir: join(base, 'host-b'),
      fence: fenceOf(storeB, b.token),
    });
    const report = await (await engineB.resume(handleA.runId)).done;
    assert.equal(report.status, 'succeeded', JSON.stringify(report));
    const [{ v }] = await query<{ v: string }>(
      subscriber.connectionString(database),
      "SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = 'orders_id_seq'",
    );
    assert.equal(Number(v), 50 + GAP, 'the sequence gap was applied once, by A, and B continued from there');
    // The database is open to the app, past the gap.
    const [row] = await query<{ id: string }>(
      roleUrl(subscriber, APP_ROLE, database),
      "INSERT INTO orders (note) VALUES ('on dr') RETURNING id::text AS id",
    );
    assert.equal(Number(row.id), 50 + GAP + 1);
  } finally {
    await blocker.end().catch(() => undefined);
    await storeB.close().catch(() => undefined);
    await store.close();
  }
}
