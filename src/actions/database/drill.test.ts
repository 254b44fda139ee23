import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pointAtScratch, scratchDatabaseOf } from '../shared/drill.js';
import { stepContext } from '../shared/test-context.js';
import { azurePromoteParamsSchema } from './config.js';
import { databaseDrill, scratchServerName } from './drill.js';
import { FakeArm } from '../../stand-ins/azure/arm-postgresql.js';

const SUB = '00000000-0000-0000-0000-000000000001';
let arm: FakeArm;

before(async () => {
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
});
after(() => arm?.stop());

const params = (extra: Record<string, unknown> = {}) =>
  azurePromoteParamsSchema.parse({
    action: 'azure_promote',
    subscription_id: SUB,
    resource_group: 'dr-rg',
    server: 'orders-dr',
    ...arm.access(),
    poll_interval: 0.02,
    ...extra,
  });

test('an Azure promote of a read replica rehearses by a point-in-time restore of its source (Azure keeps no backups of replicas) into a scratch server; cleanup deletes it and checks ARM no longer knows it', async () => {
  const runId = 'drill-azure-1';
  const ctx = stepContext({ runId });
  const p = params();
  assert.equal(databaseDrill.missing?.(p), undefined);
  const result = await databaseDrill.rehearse(p, { ...ctx, rehearsed: {} });
  const name = scratchServerName(p, runId);
  assert.match(name, /^orders-dr-drill[0-9a-f]{10}$/);
  assert.match(
    result.summary,
    new RegExp(
      `^drill: restored orders \\(the source of the read replica orders-dr: Azure keeps no backups of read replicas\\) as of .* into the scratch server ${name} .*; orders-dr untouched$`,
    ),
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
    `postgresql://shop:s3cret@${name}.postgres.database.azure.com:5432/shop?sslmode=require`,
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
