import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query, startPrimary, type PostgresCluster } from '../../lab/index.js';
import { findPostgresBin } from '../../lab/postgres.js';
import { ADMIN_ROLE, createManagedDatabase, roleUrl } from '../../lab/managed.js';
import { fenceDrill } from '../fence/drill.js';
import { fenceAdapter } from '../fence/fence.js';
import { stepContext } from '../shared/test-context.js';
import { withClient } from '../../pg/index.js';
import { readSubscriptions } from '../../signals/postgres.js';
import { dumpToolsCheck, toolMajor } from './client-tools.js';

// Steps against the older and the newer servers RDS and Azure run, beside Debian's client tools (15).
let base: string;
let older: PostgresCluster;
let newer: PostgresCluster;
const tools = {
  pg_dump: join(findPostgresBin(), 'pg_dump'),
  pg_restore: join(findPostgresBin(), 'pg_restore'),
};

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-client-tools-'));
  [older, newer] = await Promise.all([
    startPrimary({ baseDir: join(base, '13'), version: 13 }),
    startPrimary({ baseDir: join(base, '17'), version: 17 }),
  ]);
});

after(async () => {
  await Promise.allSettled([older?.stop(), newer?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

test('pg_dump and pg_restore may be newer than the server they dump, and a check says exactly what to install when older', async () => {
  const mine = await toolMajor(tools.pg_dump);
  assert.ok(mine >= 13 && mine < 17, `pg_dump ${mine}`);
  const ok = await dumpToolsCheck(tools, older.connectionString(), process.env, 5000);
  assert.equal(ok.ok, true, ok.detail);
  const refused = await dumpToolsCheck(tools, newer.connectionString(), process.env, 5000);
  assert.equal(refused.ok, false);
  assert.match(
    refused.detail,
    new RegExp(
      `runs PostgreSQL 17 but pg_dump is ${mine} and pg_restore is ${mine}: .*apt-get install postgresql-client-17.*pg_dump: /usr/lib/postgresql/17/bin/pg_dump`,
    ),
  );
});

test("the fence drill asks a PostgreSQL 13 server only what 13 knows: ALTER SYSTEM is a superuser's there", async () => {
  await createManagedDatabase(older, 'shop', 'CREATE TABLE orders (id int PRIMARY KEY)', {
    replication: false,
  });
  const params = (readOnly: string) =>
    fenceAdapter.schema.parse({
      database: { connection: roleUrl(older, ADMIN_ROLE, 'shop'), read_only: readOnly },
    });
  const ok = await fenceDrill.rehearse(params('alter_database'), { ...stepContext(), rehearsed: {} });
  assert.match(
    ok.summary,
    /drill: could fence \(connect to the old primary, read-only \(ALTER DATABASE\), REVOKE CONNECT, end sessions\)/,
  );
  await assert.rejects(
    fenceDrill.rehearse(params('alter_system'), { ...stepContext(), rehearsed: {} }),
    /read-only \(ALTER SYSTEM\): phoenix_admin may not: before PostgreSQL 15 only a superuser may ALTER SYSTEM/,
  );
});

test("a PostgreSQL 13 subscriber's subscriptions are read by the admin, who may not read pg_subscription there", async () => {
  await query(older.connectionString(), 'CREATE DATABASE subscribed OWNER phoenix_admin');
  await query(
    older.connectionString('subscribed'),
    `CREATE SUBSCRIPTION from_rds CONNECTION 'host=127.0.0.1 dbname=none' PUBLICATION p WITH (connect = false)`,
  );
  const admin = roleUrl(older, ADMIN_ROLE, 'subscribed');
  // 13 grants every column but oid, subsynccommit and subconninfo: no join to its statistics by oid.
  await assert.rejects(query(admin, 'SELECT oid FROM pg_subscription'), /permission denied/);
  const subs = await withClient(admin, 'subscriber', (c) => readSubscriptions(c));
  assert.deepEqual(
    subs.map((s) => [s.subname, s.enabled, s.pid]),
    [['from_rds', false, null]],
  );
});
