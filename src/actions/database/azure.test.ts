import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { databaseAdapter } from './database.js';
import { databaseParamsSchema } from './config.js';
import { FakeArm } from '../../stand-ins/azure/arm-postgresql.js';

const SUB = '00000000-0000-0000-0000-000000000001';
let arm: FakeArm;

before(async () => {
  arm = await new FakeArm([
    { name: 'orders-dr', role: 'AsyncReplica' },
    { name: 'orders-dr2', role: 'AsyncReplica' },
    { name: 'orders-main', role: 'Primary' },
  ]).start();
});
after(() => arm?.stop());

const params = (extra: Record<string, unknown>) =>
  databaseParamsSchema.parse({
    action: 'azure_promote',
    subscription_id: SUB,
    resource_group: 'dr-rg',
    server: 'orders-dr',
    access_token: 'arm-test-token',
    endpoint: arm.url,
    ca_file: arm.caFile,
    poll_interval: 0.02,
    ...extra,
  });

test('azure_promote PATCHes replica.promoteMode through ARM, polls the operation to its end, and does not promote twice', async () => {
  const checks = await databaseAdapter.preflight(params({}), preflightContext());
  assert.ok(checks[0].ok, JSON.stringify(checks));
  const ctx = stepContext();
  const result = await databaseAdapter.run(params({}), ctx);
  assert.equal(arm.role('orders-dr'), 'Primary');
  assert.match(result.summary, /AsyncReplica → Primary/);
  assert.equal(result.dataLossS, undefined, 'a forced promote does not know what the replica lacked');
  const patch = arm.requests.find((r) => r.method === 'PATCH');
  assert.deepEqual(JSON.parse(patch!.body), {
    properties: { replica: { promoteMode: 'Standalone', promoteOption: 'Forced' } },
  });
  assert.ok(arm.requests.filter((r) => r.path.includes('azureAsyncOperation')).length >= 2);
  const patches = arm.requests.filter((r) => r.method === 'PATCH').length;
  const again = await databaseAdapter.run(params({}), stepContext({ workDir: ctx.workDir, resumed: true }));
  assert.match(again.summary, /already promoted/);
  assert.equal(arm.requests.filter((r) => r.method === 'PATCH').length, patches);
});

test('what ARM refuses comes back as a clear step error: not a replica, switchover without a virtual endpoint, a bad token', async () => {
  await assert.rejects(
    databaseAdapter.run(params({ server: 'orders-main' }), stepContext()),
    /is not a read replica/,
  );
  await assert.rejects(
    databaseAdapter.run(params({ server: 'orders-dr2', promote_mode: 'switchover' }), stepContext()),
    /refused to promote orders-dr2: HTTP 400 InvalidParameterValue .*virtual endpoint/,
  );
  await assert.rejects(
    databaseAdapter.run(params({ server: 'orders-dr2', access_token: 'wrong' }), stepContext()),
    /HTTP 401 InvalidAuthenticationToken/,
  );
  await assert.rejects(
    databaseAdapter.run(params({ server: 'missing' }), stepContext()),
    /HTTP 404 ResourceNotFound/,
  );
  assert.equal(arm.role('orders-dr2'), 'AsyncReplica');
});

test('azure_promote cut short while it polls the promote ARM accepted resumes polling that operation instead of sending a second promote', async () => {
  // Four polls to finish: the first attempt is cut while the SDK polls the operation ARM accepted (the
  // second poll), before it ended.
  const slow = await new FakeArm([{ name: 'orders-dr', role: 'AsyncReplica' }], 'arm-test-token', 4).start();
  try {
    const p = params({ endpoint: slow.url, ca_file: slow.caFile, poll_interval: 0.05 });
    const killed = new AbortController();
    const ctx = stepContext({ signal: killed.signal });
    const first = databaseAdapter.run(p, ctx);
    const polled = () => slow.requests.filter((r) => r.path.includes('azureAsyncOperation')).length >= 2;
    while (!polled()) await new Promise((r) => setTimeout(r, 5));
    killed.abort();
    await assert.rejects(first);
    assert.equal(
      slow.role('orders-dr'),
      'AsyncReplica',
      'the operation had not ended when the attempt was cut',
    );
    const again = await databaseAdapter.run(p, stepContext({ workDir: ctx.workDir, resumed: true }));
    assert.equal(slow.role('orders-dr'), 'Primary');
    assert.match(again.summary, /AsyncReplica → Primary/);
    assert.equal(
      slow.requests.filter((r) => r.method === 'PATCH').length,
      1,
      'the resumed attempt sent the promote again instead of following the operation ARM had accepted',
    );
  } finally {
    await slow.stop();
  }
});
