import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../config/index.js';
import { createSignalSource } from './index.js';
import { startPrimary, startStandby, type PostgresCluster } from '../lab/postgres.js';
import {
  ADMIN_ROLE,
  createManagedDatabase,
  createPublication,
  roleUrl,
  subscribe,
  subscriptionReady,
} from '../lab/managed.js';
import { closedPort, httpServer } from '../../test/helpers/servers.js';

let primary: PostgresCluster;
let standby: PostgresCluster;

before(async () => {
  const base = mkdtempSync(join(tmpdir(), 'phoenix-pg-probe-'));
  primary = await startPrimary({ baseDir: join(base, 'primary') });
  standby = await startStandby(primary, { baseDir: join(base, 'standby') });
  await sql(primary, 'CREATE TABLE orders (id serial PRIMARY KEY, note text)');
});

after(async () => {
  await standby?.stop();
  await primary?.stop();
});

async function sql(cluster: PostgresCluster, text: string, database?: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: cluster.connectionString(database) });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

async function probe(settings: Record<string, unknown>) {
  const config = parseConfig({
    probes: { timeout: '5s', signals: { db_replication_lag: { type: 'postgres_replication', ...settings } } },
  });
  const source = createSignalSource(config);
  try {
    return (await source.collect(Date.now() / 1000)).db_replication_lag;
  } finally {
    await source.close();
  }
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function caughtUp(): Promise<boolean> {
  const { rows } = await sql(
    primary,
    'SELECT count(*)::int AS n FROM pg_stat_replication WHERE replay_lsn = pg_current_wal_lsn()',
  );
  return rows[0].n === 1;
}

test('a caught-up streaming standby: ok, zero bytes and nothing behind, seen from both sides', async () => {
  await sql(primary, "INSERT INTO orders (note) VALUES ('first')");
  await waitFor(caughtUp, 'the standby to catch up');
  const s = await probe({ primary: primary.connectionString(), standby: standby.connectionString() });
  assert.equal(s.status, 'ok', String(s.detail));
  assert.equal(s.bytes, 0);
  assert.equal(s.data_behind_s, 0);
  assert.equal(s.replicas, 1);
  assert.equal(s.receiver, 'streaming');
  assert.equal(typeof s.seconds, 'number');

  const standbyOnly = await probe({ standby: standby.connectionString() });
  assert.equal(standbyOnly.status, 'ok');
  assert.equal(standbyOnly.data_behind_s, 0);
});

test('a standby that stops replaying falls behind in bytes; byte thresholds set the status', async () => {
  await sql(standby, 'SELECT pg_wal_replay_pause()');
  try {
    await sql(primary, "INSERT INTO orders (note) SELECT repeat('x', 200) FROM generate_series(1, 2000)");
    await waitFor(async () => {
      const { rows } = await sql(
        primary,
        'SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::float8 AS b FROM pg_stat_replication',
      );
      return rows[0].b > 0;
    }, 'the primary to see the standby behind');
    const s = await probe({
      primary: primary.connectionString(),
      standby: standby.connectionString(),
      degraded_bytes: 1,
      error_bytes: 1_000_000_000,
    });
    assert.equal(s.status, 'degraded');
    assert.ok(Number(s.bytes) > 100_000, `bytes ${s.bytes}`);
    assert.notEqual(s.data_behind_s, 0);
  } finally {
    await sql(standby, 'SELECT pg_wal_replay_resume()');
  }
  await waitFor(caughtUp, 'the standby to catch up again');
});

test('a database that refuses connections is reported with its address; garbage on the wire too', async () => {
  const refused = await closedPort();
  const s = await probe({ primary: `postgresql://postgres@127.0.0.1:${refused}/postgres` });
  assert.equal(s.status, 'unknown');
  assert.match(String(s.detail), new RegExp(`primary 127\\.0\\.0\\.1:${refused}: connection refused`));

  const web = await httpServer((_req, res) => res.end('not postgres'));
  try {
    const g = await probe({ standby: `postgresql://postgres@127.0.0.1:${web.port}/postgres` });
    assert.equal(g.status, 'unknown');
    assert.match(String(g.detail), new RegExp(`standby 127\\.0\\.0\\.1:${web.port}: .+`));
  } finally {
    await web.close();
  }
});

test('with the primary gone the standby still reports how long since it last replayed', async () => {
  await primary.kill();
  await waitFor(async () => {
    const { rows } = await sql(
      standby,
      "SELECT count(*)::int AS n FROM pg_stat_wal_receiver WHERE status = 'streaming'",
    );
    return rows[0].n === 0;
  }, 'the standby to notice the primary is gone');
  const s = await probe({
    primary: primary.connectionString(),
    standby: standby.connectionString(),
    degraded_lag: 0.001,
  });
  assert.match(String(s.detail), new RegExp(`primary 127\\.0\\.0\\.1:${primary.port}: connection refused`));
  assert.equal(typeof s.seconds, 'number');
  // Nothing says how much the standby is missing, so the time since its last replay decides.
  assert.equal(s.data_behind_s, undefined);
  assert.equal(s.status, 'degraded');
  // Issue 11: with the default lag thresholds too, a primary that refuses connections is not `ok`.
  const defaults = await probe({ primary: primary.connectionString(), standby: standby.connectionString() });
  assert.equal(defaults.status, 'degraded', String(defaults.detail));
  assert.equal(defaults.data_at_risk, 'unknown');
});

// A logical subscriber as between RDS and Azure Flexible Server: two clusters, the controller's role a
// non-superuser on both (the lab's managed-service model).
test('a logical subscriber: ok while in step, then unknown data at risk and not ok once the publisher is gone', async () => {
  const base = mkdtempSync(join(tmpdir(), 'phoenix-pg-logical-'));
  const publisher = await startPrimary({ baseDir: join(base, 'pub') });
  const subscriber = await startPrimary({ baseDir: join(base, 'sub') });
  try {
    const schema = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';
    await createManagedDatabase(publisher, 'shop', schema, { replication: true });
    await createManagedDatabase(subscriber, 'shop', schema, { replication: false });
    await createPublication(publisher, 'shop');
    await subscribe(subscriber, publisher, 'shop');
    await waitFor(() => subscriptionReady(subscriber, 'shop'), 'the subscription to stream');
    await sql(publisher, "INSERT INTO orders (note) VALUES ('x')", 'shop');
    const settings = {
      primary: roleUrl(publisher, ADMIN_ROLE, 'postgres'),
      standby: roleUrl(subscriber, ADMIN_ROLE, 'postgres'),
    };
    let s = await probe(settings);
    await waitFor(async () => {
      s = await probe(settings);
      return s.data_behind_s === 0;
    }, 'the subscriber to confirm everything');
    assert.equal(s.status, 'ok', String(s.detail));
    assert.equal(s.replication, 'logical');
    assert.equal(s.subscriptions, 1);
    assert.equal(s.slots, 1);
    assert.equal(typeof s.applied_lsn, 'string');

    await publisher.kill();
    const gone = await probe(settings);
    assert.notEqual(gone.status, 'ok', String(gone.detail));
    assert.equal(gone.data_at_risk, 'unknown');
    assert.equal(gone.data_behind_s, undefined);
    assert.match(String(gone.detail), /primary 127\.0\.0\.1:\d+: connection refused/);
  } finally {
    await Promise.allSettled([publisher.stop(), subscriber.stop()]);
  }
});
