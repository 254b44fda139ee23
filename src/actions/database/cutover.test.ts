import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPrimary, query, waitUntil, type PostgresCluster } from '../../lab/index.js';
import { ADMIN_ROLE, APP_ROLE, logicalPair, roleUrl } from '../../lab/managed.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { databaseAdapter } from './database.js';
import { databaseParamsSchema } from './config.js';

// RDS → Azure Flexible Server in miniature: a publisher and a logical subscriber, each with the
// controller's role a non-superuser, and the subscriber read-only to the app until the cut-over.
const DB = 'shop';
/** A second pair on the same clusters, for the publisher-lost case. */
const DB2 = 'shop_lost';
/** A third, for a cut-over killed between advancing the sequences and saving that it had. */
const DB3 = 'shop_killed';
const SCHEMA = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';
let base: string;
let publisher: PostgresCluster;
let subscriber: PostgresCluster;

const pair = (db: string) => logicalPair(publisher, subscriber, db, SCHEMA, 30_000);

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-cutover-'));
  [publisher, subscriber] = await Promise.all([
    startPrimary({ baseDir: join(base, 'pub') }),
    startPrimary({ baseDir: join(base, 'sub') }),
  ]);
  await pair(DB);
  await pair(DB2);
  await pair(DB3);
});

after(async () => {
  await Promise.allSettled([publisher?.stop(), subscriber?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

const params = (extra: Record<string, unknown> = {}, db = DB) =>
  databaseParamsSchema.parse({
    action: 'cutover',
    subscriber: roleUrl(subscriber, ADMIN_ROLE, db),
    publisher: roleUrl(publisher, ADMIN_ROLE, db),
    // PostgreSQL 15 (the lab's) requires the subscription's owner to be a superuser.
    subscription_owner: subscriber.connectionString(db),
    sequence_gap: 1000,
    ...extra,
  });

test('the subscriber is read-only to the app before the cut-over, and the preflight sees it streaming', async () => {
  await assert.rejects(
    query(roleUrl(subscriber, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('too early')"),
    /read-only transaction/,
  );
  const checks = await databaseAdapter.preflight(params(), preflightContext({ rpoBudgetS: 30 }));
  assert.ok(
    checks.every((c) => c.ok),
    JSON.stringify(checks),
  );
});

test('cut-over with the publisher reachable: nothing lost, subscription off, DR inserts never collide with replicated keys, a session it may not end (42501) reported', async () => {
  await query(
    roleUrl(publisher, APP_ROLE, DB),
    "INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 200) g",
  );
  // The service's own superuser session on the DR database: pg_terminate_backend raises 42501 for it.
  const provider = new pg.Client({ connectionString: subscriber.connectionString(DB) });
  provider.on('error', () => undefined);
  await provider.connect();
  const ctx = stepContext();
  const result = await databaseAdapter.run(params(), ctx).finally(() => provider.end());
  assert.equal(result.dataLossS, 0, result.summary);
  assert.match(result.summary, /1 session\(s\) of postgres could not be ended/);
  assert.deepEqual(
    (result.output?.sessions_not_ended as Array<{ role: string }>).map((s) => s.role),
    ['postgres'],
  );
  assert.equal(result.output?.data_at_risk_s, 0);
  const [{ n }] = await query<{ n: number }>(
    subscriber.connectionString(DB),
    'SELECT count(*)::int AS n FROM orders',
  );
  assert.equal(n, 200);
  const [sub] = await query<{ enabled: boolean }>(
    subscriber.connectionString(DB),
    'SELECT subenabled AS enabled FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
  );
  assert.equal(sub.enabled, false);
  // The app writes on DR now, with ids past the replicated ones and the gap.
  const [row] = await query<{ id: string }>(
    roleUrl(subscriber, APP_ROLE, DB),
    "INSERT INTO orders (note) VALUES ('on dr') RETURNING id::text AS id",
  );
  assert.ok(Number(row.id) > 200 + 1000 - 1, `new id ${row.id}`);
  // The publisher writes on; nothing reaches the cut-over subscriber any more.
  await query(roleUrl(publisher, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('after')");
  const again = await databaseAdapter.run(params(), stepContext({ workDir: ctx.workDir, resumed: true }));
  assert.deepEqual(again.output?.sequences, result.output?.sequences);
  const [{ m }] = await query<{ m: number }>(
    subscriber.connectionString(DB),
    'SELECT count(*)::int AS m FROM orders',
  );
  assert.equal(m, 201);
});

test('a cut-over killed after advancing the sequences, before saving it, advances them once: the re-run leaves them where the first run set them, never moves one back below the ids the app took since, and spares the app sessions opened since', async () => {
  await query(
    roleUrl(publisher, APP_ROLE, DB3),
    "INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 50) g",
  );
  const ctx = stepContext();
  const first = await databaseAdapter.run(params({}, DB3), ctx);
  const sequence = async () =>
    Number(
      (
        await query<{ v: string }>(
          subscriber.connectionString(DB3),
          "SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = 'orders_id_seq'",
        )
      )[0].v,
    );
  assert.equal(await sequence(), 50 + 1000);
  // The app reconnects to the writable DR database: a re-run of the step must not end it again.
  const app = new pg.Client({ connectionString: roleUrl(subscriber, APP_ROLE, DB3) });
  app.on('error', () => undefined);
  await app.connect();
  // The controller died after setval() committed and before the step's state said so.
  const state = (await ctx.state.load<Record<string, unknown>>())!;
  delete state.sequences;
  await ctx.state.save(state);
  const again = await databaseAdapter.run(
    params({}, DB3),
    stepContext({ workDir: ctx.workDir, resumed: true, attempt: 2 }),
  );
  assert.equal(await sequence(), 50 + 1000, 'the sequence was advanced a second time');
  assert.deepEqual(again.output?.sequences, first.output?.sequences);
  // Killed once more after the database opened and the app wrote: the re-run keeps the app's ids.
  const [row] = await query<{ id: string }>(
    roleUrl(subscriber, APP_ROLE, DB3),
    "INSERT INTO orders (note) VALUES ('on dr') RETURNING id::text AS id",
  );
  assert.equal(Number(row.id), 50 + 1000 + 1);
  delete state.sequences;
  await ctx.state.save(state);
  await databaseAdapter.run(
    params({}, DB3),
    stepContext({ workDir: ctx.workDir, resumed: true, attempt: 3 }),
  );
  assert.equal(await sequence(), 50 + 1000 + 1, 'the sequence moved below an id the app holds');
  try {
    await app.query('SELECT 1');
  } finally {
    await app.end().catch(() => undefined);
  }
});

test('a planned switchover (failback) is refused with the reason while the subscriber lags, checked by LSN', async () => {
  // The subscriber stops applying (as a rebuilt primary still copying would), then the publisher writes.
  await query(
    subscriber.connectionString(DB2),
    'BEGIN READ WRITE; ALTER SUBSCRIPTION phoenix_dr DISABLE; COMMIT',
  );
  await query(roleUrl(publisher, APP_ROLE, DB2), "INSERT INTO orders (note) VALUES ('not yet there')");
  await assert.rejects(
    databaseAdapter.run(params({ require_caught_up: true, catch_up: 0.5, force: true }, DB2), stepContext()),
    /switchover refused: the subscriber has not confirmed everything .*WAL bytes short/,
  );
  const [{ n }] = await query<{ n: number }>(
    subscriber.connectionString(DB2),
    "SELECT count(*)::int AS n FROM orders WHERE note = 'not yet there'",
  );
  assert.equal(n, 0);
  await query(
    subscriber.connectionString(DB2),
    'BEGIN READ WRITE; ALTER SUBSCRIPTION phoenix_dr ENABLE; COMMIT',
  );
  await waitUntil(
    async () =>
      (
        await query<{ n: number }>(
          subscriber.connectionString(DB2),
          "SELECT count(*)::int AS n FROM orders WHERE note = 'not yet there'",
        )
      )[0].n === 1,
    30_000,
    'the subscriber to catch up',
    100,
  );
});

test('with the publisher gone, the data at risk is unknown: refused by default, recorded as unknown when policy proceeds', async () => {
  await publisher.kill();
  await assert.rejects(
    databaseAdapter.run(params({}, DB2), stepContext()),
    /data at risk is unknown.*on_unknown_lag: proceed/,
  );
  const result = await databaseAdapter.run(params({ on_unknown_lag: 'proceed' }, DB2), stepContext());
  assert.equal(result.dataLossS, undefined);
  assert.equal(result.output?.data_at_risk_s, 'unknown');
  assert.match(result.summary, /data at risk unknown .*publisher unreachable/);
});
