import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  startPrimary,
  startStandby,
  startS3Server,
  type PostgresCluster,
  type S3Server,
} from '../../lab/index.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { databaseAdapter } from './database.js';
import { databaseParamsSchema } from './config.js';

// Three real PostgreSQL clusters: a primary, its streaming standby (the DR database) and a
// cold target for dump/restore; plus an S3-compatible server holding the dump.
let base: string;
let primary: PostgresCluster;
let standby: PostgresCluster;
let cold: PostgresCluster;
let s3: S3Server;

async function sql<T = Record<string, unknown>>(
  cs: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: cs });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-db-'));
  primary = await startPrimary({ baseDir: join(base, 'primary') });
  await sql(primary.connectionString(), 'CREATE TABLE orders (id int PRIMARY KEY, note text)');
  await sql(
    primary.connectionString(),
    "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 500) g",
  );
  [standby, cold, s3] = await Promise.all([
    startStandby(primary, { baseDir: join(base, 'standby') }),
    startPrimary({ baseDir: join(base, 'cold') }),
    startS3Server({ baseDir: join(base, 's3'), buckets: ['dumps'] }),
  ]);
});

after(async () => {
  await Promise.allSettled([primary?.stop(), standby?.stop(), cold?.stop(), s3?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

const promoteParams = () =>
  databaseParamsSchema.parse({
    action: 'promote',
    standby: standby.connectionString(),
    primary: primary.connectionString(),
    max_lag: '30s',
  });

test('pre-flight measures the standby lag against the RPO budget', async () => {
  // Let the last insert reach the standby.
  for (let i = 0; i < 100; i++) {
    const [row] = await sql<{ n: number }>(
      standby.connectionString(),
      'SELECT count(*)::int AS n FROM orders',
    );
    if (row.n === 500) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const checks = await databaseAdapter.preflight(promoteParams(), preflightContext({ rpoBudgetS: 300 }));
  assert.deepEqual(
    checks.map((c) => [c.check, c.ok]),
    [
      ['standby reachable', true],
      ['standby in recovery', true],
      ['replication lag within the RPO budget', true],
    ],
  );
  assert.match(checks[2].detail, /0\.0s \(0 WAL bytes behind the primary\); budget 30s/);
});

test('promote checks the lag, promotes the standby with pg_promote(), and a repeated promote changes nothing', async () => {
  const ctx = stepContext();
  const result = await databaseAdapter.run(promoteParams(), ctx);
  assert.match(result.summary, /^promoted .* \(lag 0\.0s/);
  assert.equal(result.dataLossS, 0);
  const [state] = await sql<{ r: boolean }>(standby.connectionString(), 'SELECT pg_is_in_recovery() AS r');
  assert.equal(state.r, false);
  // The new primary takes writes and has every row.
  await sql(standby.connectionString(), "INSERT INTO orders VALUES (501, 'after failover')");
  const [count] = await sql<{ n: number }>(
    standby.connectionString(),
    'SELECT count(*)::int AS n FROM orders',
  );
  assert.equal(count.n, 501);
  // Resumed after a crash: sees it is already primary, keeps the lag measured before.
  const again = await databaseAdapter.run(promoteParams(), { ...ctx, attempt: 2, resumed: true });
  assert.match(again.summary, /already a primary/);
  assert.equal(again.dataLossS, 0);
});

test('promote refuses a logical subscriber and a primary it did not promote, instead of reporting them promoted', async () => {
  // A logical subscriber is not in recovery either: "already promoted" would leave it subscribed and read-only.
  await sql(cold.connectionString(), 'CREATE DATABASE subscribed');
  const subscriber = cold.connectionString('subscribed');
  await sql(
    subscriber,
    `CREATE SUBSCRIPTION from_rds CONNECTION '${primary.connectionString()}' PUBLICATION any_pub
       WITH (connect = false)`,
  );
  const promoteOn = (standbyUrl: string) =>
    databaseAdapter.run(
      databaseParamsSchema.parse({
        action: 'promote',
        standby: standbyUrl,
        primary: primary.connectionString(),
      }),
      stepContext(),
    );
  await assert.rejects(
    promoteOn(subscriber),
    /is not a streaming standby but a logical subscriber \(subscription from_rds\).*use action: cutover/,
  );
  // A primary this step never promoted: the wrong connection string, not a finished promotion.
  await assert.rejects(
    promoteOn(cold.connectionString()),
    /is not in recovery and this step did not promote it/,
  );
});

test('dump_restore copies a database through the object store into a cold standby, and a rerun replaces rather than duplicates', async () => {
  const params = databaseParamsSchema.parse({
    action: 'dump_restore',
    source: standby.connectionString(),
    target: cold.connectionString(),
    object_store: {
      bucket: 'dumps',
      key: 'app.pgc',
      endpoint: s3.endpoint,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
    },
  });
  const checks = await databaseAdapter.preflight(params, preflightContext());
  assert.ok(
    checks.every((c) => c.ok),
    JSON.stringify(checks),
  );
  const ctx = stepContext();
  const result = await databaseAdapter.run(params, ctx);
  assert.match(result.summary, /through s3:\/\/dumps\/app\.pgc/);
  assert.equal(result.output?.reused_dump, false);
  const rows = () =>
    sql<{ n: number; last: string }>(
      cold.connectionString(),
      'SELECT count(*)::int AS n, max(note) FILTER (WHERE id = 501) AS last FROM orders',
    );
  assert.deepEqual(await rows(), [{ n: 501, last: 'after failover' }]);
  // The same step resumed: the dump already in the store is reused, the restore replaces.
  const again = await databaseAdapter.run(params, { ...ctx, attempt: 2, resumed: true });
  assert.equal(again.output?.reused_dump, true);
  assert.deepEqual(await rows(), [{ n: 501, last: 'after failover' }]);
});
