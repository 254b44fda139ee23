import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { query, startPrimary, type PostgresCluster } from '../../lab/index.js';
import { waitUntil } from '../../lab/process.js';
import {
  ADMIN_ROLE,
  SUBSCRIPTION,
  createManagedDatabase,
  createPublication,
  roleUrl,
  subscribeStreaming,
  subscriptionOwnerRole,
} from '../../lab/managed.js';
import { ServerMetrics } from '../../server/metrics.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { databaseAdapter } from './database.js';
import { databaseParamsSchema } from './config.js';

// The oldest and the newest majors RDS and Azure offer, each once publisher and once subscriber: one
// database replicates 13 → 17, another 17 → 13. Every catalog read runs as the non-superuser admin.
const SCHEMA = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text, total numeric(10,2))';
let base: string;
let v13: PostgresCluster;
let v17: PostgresCluster;
const majors = new Map<PostgresCluster, number>();

// The same table with every column of a wider type on the subscriber (the documentation's own example,
// integer into bigint, among them).
const NARROW =
  'CREATE TABLE orders (id integer PRIMARY KEY, code varchar(10), total numeric(10,2), at timestamp)';
const WIDE = 'CREATE TABLE orders (id bigint PRIMARY KEY, code text, total numeric(12,2), at timestamptz)';

async function pair(
  publisher: PostgresCluster,
  subscriber: PostgresCluster,
  db: string,
  schemas: [string, string] = [SCHEMA, SCHEMA],
): Promise<void> {
  await createManagedDatabase(publisher, db, schemas[0], { replication: true });
  await createManagedDatabase(subscriber, db, schemas[1], { replication: true });
  await createPublication(publisher, db);
  await subscribeStreaming(subscriber, publisher, db, 30_000);
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-drift-'));
  [v13, v17] = await Promise.all([
    startPrimary({ baseDir: join(base, '13'), version: 13 }),
    startPrimary({ baseDir: join(base, '17'), version: 17 }),
  ]);
  majors.set(v13, 13).set(v17, 17);
  // One after the other: CREATE SUBSCRIPTION waits, inside its transaction, for the slot it creates on the
  // publisher, and a logical slot waits for every transaction running on its server. Two subscriptions
  // created at once in opposite directions wait for each other for ever (a run hung until its timeout).
  await pair(v13, v17, 'up');
  await pair(v17, v13, 'down');
  await pair(v13, v17, 'widen', [NARROW, WIDE]);
});

after(async () => {
  await Promise.allSettled([v13?.stop(), v17?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

const params = (publisher: PostgresCluster, subscriber: PostgresCluster, db: string, extra = {}) =>
  databaseParamsSchema.parse({
    action: 'cutover',
    subscriber: roleUrl(subscriber, ADMIN_ROLE, db),
    publisher: roleUrl(publisher, ADMIN_ROLE, db),
    subscription_owner: roleUrl(subscriber, subscriptionOwnerRole(majors.get(subscriber)), db),
    catch_up: 5,
    ...extra,
  });

/** DDL as the table owner (or `role`), on a database kept read-only by default (the subscriber's). */
async function ddl(cluster: PostgresCluster, db: string, sql: string, role = ADMIN_ROLE): Promise<void> {
  const client = new pg.Client({ connectionString: roleUrl(cluster, role, db) });
  await client.connect();
  try {
    await client.query('SET default_transaction_read_only = off');
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function driftCheck(publisher: PostgresCluster, subscriber: PostgresCluster, db: string) {
  const checks = await databaseAdapter.preflight(params(publisher, subscriber, db), preflightContext({}));
  const drift = checks.find((c) => c.check === 'schema drift');
  assert.ok(drift, JSON.stringify(checks));
  return drift;
}

for (const [name, db, pub, sub] of [
  ['13 → 17', 'up', () => v13, () => v17],
  ['17 → 13', 'down', () => v17, () => v13],
] as const) {
  test(`${name}: the same schema on both ends is no drift`, async () => {
    const check = await driftCheck(pub(), sub(), db);
    assert.equal(check.ok, true, check.detail);
    assert.equal(check.warn, undefined, check.detail);
    assert.deepEqual(check.drift, { breaking_tables: 0, warning_tables: 0 });
    assert.match(check.detail, /no schema drift: 1 published tables match/);
  });
}

test('13 → 17: a subscriber-only column warns; a missing column, a missing table and another type refuse the cut-over, in readiness and /metrics; fixed, the cut-over runs', async () => {
  const [pub, sub, db] = [v13, v17, 'up'];
  // A column only the subscriber has, nullable: replicated rows get NULL, nothing breaks.
  await ddl(sub, db, 'ALTER TABLE orders ADD COLUMN audit text');
  let check = await driftCheck(pub, sub, db);
  assert.equal(check.ok, true, check.detail);
  assert.equal(check.warn, true);
  assert.deepEqual(check.drift, { breaking_tables: 0, warning_tables: 1 });
  assert.match(check.detail, /orders\.audit exists only on the subscriber \(replicated rows get NULL\)/);

  // A migration applied on the publisher only, a table published but never created on the subscriber,
  // and a column widened on one side only.
  await ddl(pub, db, 'ALTER TABLE orders ADD COLUMN coupon text');
  await ddl(pub, db, 'CREATE TABLE refunds (id bigint PRIMARY KEY, amount numeric)');
  await ddl(pub, db, 'ALTER PUBLICATION phoenix_dr ADD TABLE refunds');
  await ddl(pub, db, 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2)');
  check = await driftCheck(pub, sub, db);
  assert.equal(check.ok, false);
  assert.deepEqual(check.drift, { breaking_tables: 2, warning_tables: 0 });
  assert.match(check.detail, /schema drift in 2 of 2 published tables \(2 would lose or break data\)/);
  assert.match(check.detail, /orders\.coupon \(text\) is published but missing on the subscriber/);
  assert.match(
    check.detail,
    /orders\.total is numeric\(14,2\) on the publisher but numeric\(10,2\) on the subscriber/,
  );
  assert.match(check.detail, /public\.refunds is published but does not exist on the subscriber/);

  // The readiness pass's checks become /metrics series.
  const metrics = new ServerMetrics({
    processMetrics: false,
    readiness: {
      latest: () => ({
        checked_at: 1,
        ready: false,
        runbooks: [
          {
            runbook: 'dr_failover',
            ok: false,
            problems: [],
            steps: [{ stage: 'data', step: 'cutover', type: 'database', ok: false, checks: [check] }],
          },
        ],
      }),
    },
  });
  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /^phoenix_schema_drift_tables\{runbook="dr_failover",stage="data",step="cutover",severity="breaking"\} 2$/m,
  );
  assert.match(
    text,
    /^phoenix_schema_drift_tables\{runbook="dr_failover",stage="data",step="cutover",severity="warning"\} 0$/m,
  );

  // The cut-over itself refuses before it touches anything: the subscription stays enabled.
  const dir = mkdtempSync(join(base, 'step-'));
  await assert.rejects(
    databaseAdapter.run(params(pub, sub, db), stepContext({ workDir: dir })),
    /cut-over refused: schema drift in 2 of 2 published tables.*Apply the same migrations on the subscriber/,
  );
  const [{ enabled }] = await query<{ enabled: boolean }>(
    sub.connectionString(db),
    'SELECT subenabled AS enabled FROM pg_subscription',
  );
  assert.equal(enabled, true);

  // The subscriber migrated too: the cut-over runs, and its summary carries the remaining warning.
  await ddl(sub, db, 'ALTER TABLE orders ADD COLUMN coupon text');
  await ddl(sub, db, 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2)');
  await ddl(sub, db, 'CREATE TABLE refunds (id bigint PRIMARY KEY, amount numeric)');
  const result = await databaseAdapter.run(params(pub, sub, db), stepContext({ workDir: dir }));
  assert.match(result.summary, /schema drift in 1 of 2 published tables \(0 would lose or break data\)/);
  assert.match(result.summary, /orders\.audit exists only on the subscriber/);
});

test('17 → 13: a subscriber-only NOT NULL column without a default breaks every replicated insert; force cuts over anyway and says so', async () => {
  const [pub, sub, db] = [v17, v13, 'down'];
  await ddl(sub, db, 'ALTER TABLE orders ADD COLUMN region text NOT NULL');
  const check = await driftCheck(pub, sub, db);
  assert.equal(check.ok, false);
  assert.match(
    check.detail,
    /orders\.region exists only on the subscriber, NOT NULL without a default on the subscriber/,
  );
  const dir = mkdtempSync(join(base, 'step-'));
  const result = await databaseAdapter.run(
    params(pub, sub, db, { force: true }),
    stepContext({ workDir: dir }),
  );
  assert.match(result.summary, /1 would lose or break data\).*\(accepted: force\)/);
});

test("13 → 17: subscriber columns of wider types only warn, and rows at the narrower types' limits replicate into them; a binary subscription makes them breaking", async () => {
  const [pub, sub, db] = [v13, v17, 'widen'];
  let check = await driftCheck(pub, sub, db);
  assert.equal(check.ok, true, check.detail);
  assert.equal(check.warn, true, check.detail);
  assert.deepEqual(check.drift, { breaking_tables: 0, warning_tables: 1 });
  assert.match(check.detail, /schema drift in 1 of 1 published tables \(0 would lose or break data\)/);
  assert.match(
    check.detail,
    /orders\.id is integer on the publisher but bigint on the subscriber: a wider type/,
  );
  assert.match(check.detail, /orders\.code is character varying\(10\) on the publisher but text/);
  assert.match(check.detail, /orders\.total is numeric\(10,2\) on the publisher but numeric\(12,2\)/);
  assert.match(check.detail, /orders\.at is timestamp without time zone .* subscriber's TimeZone setting/);

  // What the documentation says, on the servers: the apply converts each value's text into the wider type.
  await ddl(
    pub,
    db,
    "INSERT INTO orders VALUES (2147483647, 'abcdefghij', 99999999.99, '2026-12-07 03:00:00.123456'), (-2147483648, NULL, -99999999.99, NULL)",
  );
  const subUrl = roleUrl(sub, ADMIN_ROLE, db);
  await waitUntil(
    async () => (await query(subUrl, 'SELECT 1 FROM orders')).length === 2,
    60_000,
    'both rows to reach the 17 subscriber',
    200,
  );
  const rows = await query<{ id: string; code: string | null; total: string }>(
    subUrl,
    'SELECT id::text, code, total::text FROM orders ORDER BY id',
  );
  assert.deepEqual(rows, [
    { id: '-2147483648', code: null, total: '-99999999.99' },
    { id: '2147483647', code: 'abcdefghij', total: '99999999.99' },
  ]);

  // Binary format converts no type: the same schemas are breaking for a binary subscription.
  await ddl(sub, db, `ALTER SUBSCRIPTION ${SUBSCRIPTION} SET (binary = true)`, subscriptionOwnerRole(17));
  check = await driftCheck(pub, sub, db);
  assert.equal(check.ok, false, check.detail);
  assert.deepEqual(check.drift, { breaking_tables: 1, warning_tables: 0 });
  assert.match(
    check.detail,
    /orders\.id is integer on the publisher but bigint on the subscriber: the subscription uses the binary format/,
  );
});
