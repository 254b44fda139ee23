import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pointAtScratch, scratchDatabaseOf } from '../shared/drill.js';
import { stepContext } from '../shared/test-context.js';
import { azurePromoteParamsSchema } from './config.js';
import { databaseDrill, scratchServerName } from './drill.js';
import { FakeArm } from '../../stand-ins/azure/arm-postgresql.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { query, startPrimary, type PostgresCluster } from '../../lab/index.js';

const SUB = '00000000-0000-0000-0000-000000000001';
let arm: FakeArm;
/** What the fake ARM's restores answer with: a local PostgreSQL stands for the restored copy. */
let copy: PostgresCluster;
let base: string;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-azure-drill-'));
  copy = await startPrimary({ baseDir: join(base, 'copy') });
  arm = await new FakeArm([
    {
      name: 'orders',
      role: 'Primary',
      location: 'eastus',
      earliestRestoreDate: new Date(Date.now() - 3 * 86_400_000),
    },
    {
      name: 'orders-dr',
      role: 'AsyncReplica',
      source: 'orders',
      location: 'eastus2',
      earliestRestoreDate: new Date(Date.now() - 3 * 86_400_000),
    },
  ]).start();
  arm.restoreHost = `127.0.0.1:${copy.port}`;
});
after(async () => {
  await arm?.stop();
  await copy?.stop();
  rmSync(base, { recursive: true, force: true });
});

const params = (extra: Record<string, unknown> = {}) =>
  azurePromoteParamsSchema.parse({
    action: 'azure_promote',
    subscription_id: SUB,
    resource_group: 'dr-rg',
    server: 'orders-dr',
    ...arm.access(),
    poll_interval: 0.02,
    ...extra,
    // The admin of the restored server's source; the drill points it at the copy's host.
    drill: {
      admin_url: 'postgresql://postgres@orders.postgres.database.azure.com:5432/postgres',
      ...(extra.drill ?? {}),
    },
  });

test('an Azure promote of a read replica rehearses by a point-in-time restore of its source (Azure keeps no backups of replicas) into a scratch server; cleanup deletes it and checks ARM no longer knows it', async () => {
  const runId = 'drill-azure-1';
  const ctx = stepContext({ runId });
  // The source was a logical subscriber: its copy holds the subscription, enabled, naming the production slot.
  await query(copy.connectionString(), 'CREATE DATABASE shop');
  const owner = new pg.Client({ connectionString: copy.connectionString('shop') });
  await owner.connect();
  await owner.query(
    "CREATE SUBSCRIPTION phoenix_dr CONNECTION 'host=127.0.0.1 port=1 dbname=shop' PUBLICATION phoenix_dr WITH (connect = false, slot_name = 'phoenix_dr_shop')",
  );
  await owner.query('ALTER SUBSCRIPTION phoenix_dr ENABLE');
  await owner.end();
  const p = params();
  assert.equal(databaseDrill.missing?.(p), undefined);
  assert.match(
    databaseDrill.missing?.(azurePromoteParamsSchema.parse({ ...p, drill: { restore_lag: 600 } })) ?? '',
    /keeps its logical subscriptions, enabled and naming the production publisher's slots.*give drill: \{ admin_url/,
  );
  const result = await databaseDrill.rehearse(p, { ...ctx, rehearsed: {} });
  const name = scratchServerName(p, runId);
  assert.match(name, /^orders-dr-drill[0-9a-f]{10}$/);
  assert.match(
    result.summary,
    new RegExp(
      `^drill: restored orders \\(the source of the read replica orders-dr: Azure keeps no backups of read replicas\\) as of .* into the scratch server ${name} .*; orders-dr untouched$`,
    ),
  );
  // Before anything else, the copy's subscription was detached from the production slot.
  assert.match(
    result.summary,
    /detached 1 subscription\(s\) on the copy before anything else \(disabled, slot_name = NONE: phoenix_dr → phoenix_dr_shop\)/,
  );
  assert.deepEqual(
    await query(copy.connectionString('shop'), 'SELECT subenabled, subslotname FROM pg_subscription'),
    [{ subenabled: false, subslotname: null }],
  );
  const put = arm.requests.find((r) => r.method === 'PUT');
  const sent = JSON.parse(put!.body) as { properties: Record<string, string>; tags: Record<string, string> };
  assert.equal(sent.properties.createMode, 'PointInTimeRestore');
  assert.match(sent.properties.sourceServerResourceId, /\/flexibleServers\/orders$/);
  assert.equal(
    (JSON.parse(put!.body) as { location: string }).location,
    'eastus',
    'restored in its source’s region',
  );
  assert.ok(
    Date.now() - Date.parse(sent.properties.pointInTimeUTC) >= 600_000,
    'the restore point trails now',
  );
  assert.equal(arm.flexibleServer(name)?.state, 'Ready');
  assert.equal(arm.flexibleServer(name)?.restoredFrom?.source, 'orders');
  assert.equal(arm.role('orders-dr'), 'AsyncReplica', 'the replica is not promoted');
  assert.equal(arm.requests.filter((r) => r.method === 'PATCH').length, 0);

  // Later rehearsals reach the restored server with the app's own database and credentials.
  const scratch = scratchDatabaseOf({
    ...ctx,
    rehearsed: { 'promote-db': { type: 'database', output: result.output! } },
  });
  assert.equal(
    pointAtScratch(
      'postgresql://shop:s3cret@orders-dr.postgres.database.azure.com:5432/shop?sslmode=require',
      scratch!,
      'DATABASE_URL',
    ),
    `postgresql://shop:s3cret@127.0.0.1:${copy.port}/shop?sslmode=require`,
  );

  // A resumed rehearsal finds its server and does not restore again.
  await databaseDrill.rehearse(p, { ...ctx, attempt: 2, resumed: true, rehearsed: {} });
  assert.equal(arm.requests.filter((r) => r.method === 'PUT').length, 1);

  const cleaned = await databaseDrill.cleanup!(p, ctx);
  assert.deepEqual(cleaned, {
    summary: `deleted the scratch server ${name}; ARM no longer knows it`,
    left: [],
  });
  assert.equal(arm.flexibleServer(name), undefined);
  assert.ok(arm.flexibleServer('orders-dr'), 'the DR server is still there');
  assert.deepEqual((await databaseDrill.cleanup!(p, ctx)).left, []);
});

test('ARM refuses a restore point outside the retention window, and the rehearsal says so; a server not the drill’s is never reused or deleted', async () => {
  await assert.rejects(
    databaseDrill.rehearse(params({ drill: { restore_lag: 5 * 86_400 } }), {
      ...stepContext({ runId: 'drill-azure-2' }),
      rehearsed: {},
    }),
    /refused to restore orders into orders-dr-drill[0-9a-f]+: HTTP 400 InvalidParameterValue .*outside the backup retention window/,
  );
  await assert.rejects(
    databaseDrill.rehearse(params({ drill: { scratch_server: 'orders-dr' } }), {
      ...stepContext({ runId: 'drill-azure-2' }),
      rehearsed: {},
    }),
    /server orders-dr already exists and is not this drill's/,
  );
  const left = await databaseDrill.cleanup!(
    params({ drill: { scratch_server: 'orders-dr' } }),
    stepContext({ runId: 'drill-azure-2' }),
  );
  assert.deepEqual(left, { summary: "server orders-dr is not this drill's: left alone", left: [] });
  assert.ok(arm.flexibleServer('orders-dr'));
});
