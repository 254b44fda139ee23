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
