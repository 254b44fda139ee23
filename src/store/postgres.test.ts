import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from './postgres.js';

const PG_URL = process.env.PHOENIX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// A controller frozen inside a fenced write has its connection ended by the server
// (idle_in_transaction_session_timeout). The connection then emits 'error' while it is
// checked out of the pool; unhandled, that event killed the controller when it woke.
test('a transaction whose connection the server ends fails with the reason, and the store goes on working', async () => {
  const store = await PostgresStore.open(PG_URL, `phoenix_test_${randomBytes(6).toString('hex')}`);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await store.run('CREATE TABLE marks (id INTEGER PRIMARY KEY)');
    const ended = store.transaction(async () => {
      await store.run('INSERT INTO marks (id) VALUES (1)');
      const row = await store.get<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [row!.pid]);
      await store.run('INSERT INTO marks (id) VALUES (2)');
    });
    // The server's reason, or the driver's word for the connection it already saw end.
    await assert.rejects(ended, /terminat|connection error/i);

    // Nothing of the ended transaction was kept, and the next write gets a fresh connection.
    await store.run('INSERT INTO marks (id) VALUES (3)');
    const ids = await store.all<{ id: number }>('SELECT id FROM marks ORDER BY id');
    assert.deepEqual(
      ids.map((r) => r.id),
      [3],
    );
  } finally {
    await admin.end();
    await store.dropSchema();
    await store.close();
  }
});

// Modules keep the promise of their migration and await it before every query: a migration that failed
// once on a connection the server ended (a controller starved of CPU past idle_in_transaction_session_timeout
// between two statements of it, under load) failed each of their queries until the process restarted
// (bench:ha --kill-anywhere --store postgres: "the fence watch failed" every cycle, no run started).
test('a migration whose connection the server ends is applied again, not left failed for every later query', async () => {
  const schema = `phoenix_test_${randomBytes(6).toString('hex')}`;
  const store = await PostgresStore.open(PG_URL, schema);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    // Holds the schema's migration lock: the store's migration waits for it inside its transaction.
    await admin.query('BEGIN');
    await admin.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`phoenix-migrate:${schema}`]);
    const migrating = store.migrate({
      sqlite: [],
      postgres: [{ name: 'test/1-marks', sql: 'CREATE TABLE marks (id INTEGER PRIMARY KEY)' }],
    });
    const waiting = `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%' AND pid <> pg_backend_pid()`;
    const until = Date.now() + 30_000;
    while ((await admin.query(waiting)).rowCount === 0) {
      assert.ok(Date.now() < until, 'the migration never waited for the lock');
      await new Promise((r) => setTimeout(r, 20));
    }
    await admin.query(`SELECT pg_terminate_backend(pid) FROM (${waiting}) w`);
    await admin.query('COMMIT');
    await migrating;
    await store.run('INSERT INTO marks (id) VALUES (1)');
    assert.deepEqual(await store.all('SELECT id FROM marks'), [{ id: 1 }]);
  } finally {
    await admin.end();
    await store.dropSchema();
    await store.close();
  }
});
