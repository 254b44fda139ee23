import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  FencedError,
  openDatabase,
  PostgresDecisionStateStore,
  PostgresLeaseStore,
  PostgresStore,
  SqliteDecisionStateStore,
  SqliteLeaseStore,
  type DecisionStateStore,
  type LeaseStore,
} from '../src/store/index.js';

const PG_URL = process.env.PHOENIX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Backend {
  lease: LeaseStore;
  state: DecisionStateStore<{ n: number }>;
  close(): Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const db = openDatabase(':memory:');
  return {
    lease: new SqliteLeaseStore(db),
    state: new SqliteDecisionStateStore(db),
    close: async () => {
      db.close();
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  // A schema of its own: other engineers' tests use the same server at the same time.
  const schema = `phoenix_test_${randomBytes(6).toString('hex')}`;
  const store = await PostgresStore.open(PG_URL, schema);
  return {
    lease: new PostgresLeaseStore(store),
    state: new PostgresDecisionStateStore(store),
    close: async () => {
      await store.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await store.close();
    },
  };
}

/** Waits (by asking the store, not by sleeping a fixed time) until `b` can take the lease. */
async function takeWhenExpired(lease: LeaseStore, holder: string, ttl_s: number) {
  const until = Date.now() + 10_000;
  for (;;) {
    const result = await lease.acquire(holder, ttl_s);
    if (result.acquired) return result.lease;
    if (Date.now() > until) throw new Error('the lease never expired');
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const [name, open] of [
  ['sqlite', sqliteBackend],
  ['postgres', postgresBackend],
] as const) {
  test(`${name}: one holder at a time, and the fencing token grows on every change of hands`, async () => {
    const { lease, close } = await open();
    try {
      const a = await lease.acquire('host:1:a', 30);
      assert.equal(a.acquired, true);
      const b = await lease.acquire('host:2:b', 30);
      assert.equal(b.acquired, false, 'a live lease is not taken');
      assert.equal(b.lease.holder, 'host:1:a');
      const again = await lease.acquire('host:1:a', 30);
      assert.equal(again.lease.token, a.lease.token, 'the holder renews with the same token');
      assert.equal(await lease.renew('host:1:a', a.lease.token, 0.2), true);
      const taken = await takeWhenExpired(lease, 'host:2:b', 30);
      assert.equal(taken.token, a.lease.token + 1);
      assert.equal(await lease.renew('host:1:a', a.lease.token, 30), false, 'the old holder cannot renew');
      await lease.release('host:2:b', taken.token);
      const back = await lease.acquire('host:1:a', 30);
      assert.equal(back.acquired, true, 'a released lease is free at once');
      assert.equal(back.lease.token, taken.token + 1);
    } finally {
      await close();
    }
  });

  test(`${name}: the store refuses decision state written with an older fencing token`, async () => {
    const { lease, state, close } = await open();
    try {
      const a = await lease.acquire('host:1:a', 0.2);
      await state.save({ n: 1 }, 100, a.lease.token);
      const b = await takeWhenExpired(lease, 'host:2:b', 30);
      await state.save({ n: 2 }, 101, b.token);
      await assert.rejects(state.save({ n: 3 }, 102, a.lease.token), FencedError);
      const loaded = await state.load();
      assert.deepEqual(loaded, { state: { n: 2 }, at: 101, token: b.token });
    } finally {
      await close();
    }
  });
}

test('postgres: controllers migrating one schema at once apply each migration once', async () => {
  const schema = `phoenix_test_${randomBytes(6).toString('hex')}`;
  const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(PG_URL, schema)));
  try {
    const { rows } = await stores[0].pool.query<{ name: string }>('SELECT name FROM schema_migrations');
    assert.deepEqual(
      rows.map((r) => r.name),
      ['lease/1'],
    );
  } finally {
    await stores[0].pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('postgres: an unreachable server is reported with the fix', async () => {
  await assert.rejects(
    PostgresStore.open('postgres://postgres:secret@127.0.0.1:1/postgres', 'x'),
    (error: Error) => /cannot open the PostgreSQL store .*\*\*\*.*check store\.url/.test(error.message),
  );
});
