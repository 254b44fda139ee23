import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrimary, query, waitUntil, type PostgresCluster } from '../src/lab/index.js';
import {
  ADMIN_ROLE,
  APP_ROLE,
  createManagedDatabase,
  createPublication,
  roleUrl,
  subscribeStreaming,
} from '../src/lab/managed.js';
import { stepContext } from '../src/actions/shared/test-context.js';
import { databaseAdapter } from '../src/actions/database/database.js';
import { databaseParamsSchema } from '../src/actions/database/config.js';
import { slotName } from '../src/actions/database/reprotect.js';
import { writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { openDatabase } from '../src/store/index.js';
import type { Decision } from '../src/core/index.js';
import {
  createRunbookDecisionSink,
  failbackReadiness,
  registerFailbackMetrics,
  wayBackInProgress,
} from '../src/runbook/index.js';
import type { RunRow } from '../src/runbook/index.js';

// After a failover: the old primary is back, DR serves writes. Reprotect makes the old primary a logical
// subscriber of DR (the way back), with the controller's roles non-superusers as on RDS and Azure.
const DB = 'shop';
const SCHEMA = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';
let base: string;
let primary: PostgresCluster;
let dr: PostgresCluster;

const count = async (cluster: PostgresCluster, sql = 'SELECT count(*)::int AS n FROM orders') =>
  (await query<{ n: number }>(cluster.connectionString(DB), sql))[0].n;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-reprotect-'));
  [primary, dr] = await Promise.all([
    startPrimary({ baseDir: join(base, 'primary') }),
    startPrimary({ baseDir: join(base, 'dr') }),
  ]);
  // Both admins may stream: RDS's through rds_replication, Azure's by ALTER ROLE … WITH REPLICATION.
  await createManagedDatabase(primary, DB, SCHEMA, { replication: true });
  await createManagedDatabase(dr, DB, SCHEMA, { replication: true });
  await createPublication(primary, DB);
  await subscribeStreaming(dr, primary, DB, 30_000);
  await query(
    roleUrl(primary, APP_ROLE, DB),
    "INSERT INTO orders (note) SELECT 'p' || g FROM generate_series(1, 500) g",
  );
});

after(async () => {
  await Promise.allSettled([primary?.stop(), dr?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

const reprotectParams = () =>
  databaseParamsSchema.parse({
    action: 'reprotect',
    publisher: roleUrl(dr, ADMIN_ROLE, DB),
    publisher_owner: dr.connectionString(DB),
    subscriber: roleUrl(primary, ADMIN_ROLE, DB),
    // PostgreSQL 15 (the lab's) wants a superuser to own a subscription.
    subscriber_owner: primary.connectionString(DB),
    retire_subscription: 'phoenix_dr',
    app_roles: [APP_ROLE],
    wait: 60,
  });

/** Runs the step in a child process and SIGKILLs it when its output matches `killOn`. */
function runChildUntil(workDir: string, killOn: RegExp): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'failback', 'reprotect-child.ts'),
      JSON.stringify(reprotectParams()),
      workDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killOn.test(out)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(`${out}\n[exit ${code ?? signal}]`));
  });
}

test('reprotect is refused while the forward subscription still streams (DR not cut over)', async () => {
  await assert.rejects(
    databaseAdapter.run(reprotectParams(), stepContext()),
    /subscription phoenix_dr on the publisher is still enabled: that database has not been cut over/,
  );
  assert.equal(await count(primary), 500);
});

test('reprotect killed mid-way resumes and completes: every row once, the old primary streams from DR', async () => {
  // Failover: DR cut over (subscription disabled, sequences past the data, open for writes).
  await databaseAdapter.run(
    databaseParamsSchema.parse({
      action: 'cutover',
      subscriber: roleUrl(dr, ADMIN_ROLE, DB),
      publisher: roleUrl(primary, ADMIN_ROLE, DB),
      subscription_owner: dr.connectionString(DB),
      sequence_gap: 1000,
    }),
    stepContext(),
  );
  // A row the old primary acknowledged that never reached DR, and DR's own writes after the failover.
  await query(roleUrl(primary, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('lost at failover')");
  await query(
    roleUrl(dr, APP_ROLE, DB),
    "INSERT INTO orders (note) SELECT 'dr' || g FROM generate_series(1, 200000) g",
  );
  // A CREATE SUBSCRIPTION cut short leaves its slot behind on the publisher.
  await query(dr.connectionString(DB), "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [
    slotName('phoenix_failback', DB),
  ]);
  const workDir = mkdtempSync(join(tmpdir(), 'phoenix-reprotect-step-'));
  const first = await runChildUntil(workDir, /subscribing/);
  assert.match(first, /exit SIGKILL/, first);
  const second = await runChildUntil(workDir, /initial copy: 1 tables still copying/);
  assert.match(second, /exit SIGKILL|done/, second);

  const result = await databaseAdapter.run(reprotectParams(), stepContext({ workDir, resumed: true }));
  assert.match(result.summary, /streaming/);
  const drRows = await count(dr);
  assert.equal(drRows, 200_500);
  await waitUntil(
    async () => (await count(primary)) === drRows,
    30_000,
    'the old primary to have every row',
    100,
  );
  assert.equal(await count(primary, 'SELECT count(DISTINCT id)::int AS n FROM orders'), drRows);
  assert.equal(
    await count(primary, "SELECT count(*)::int AS n FROM orders WHERE note = 'lost at failover'"),
    0,
  );
  // The row DR never had is kept aside on the old primary, for reconciliation.
  const schema = result.output?.old_rows_schema as string;
  assert.match(schema, /^phoenix_before_phoenix_failback_/);
  assert.equal(
    await count(
      primary,
      `SELECT count(*)::int AS n FROM "${schema}".public__orders WHERE note = 'lost at failover'`,
    ),
    1,
  );
  // Streaming: a write on DR arrives; the old forward slot is gone from the old primary; no copy errors.
  await query(roleUrl(dr, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('after reprotect')");
  await waitUntil(async () => (await count(primary)) === drRows + 1, 30_000, 'the change to stream', 100);
  assert.equal(
    await count(
      primary,
      "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = 'phoenix_dr_shop'",
    ),
    0,
  );
  assert.equal(
    await count(
      primary,
      'SELECT coalesce(sum(sync_error_count + apply_error_count), 0)::int AS n FROM pg_stat_subscription_stats',
    ),
    0,
  );
  // The old primary is read-only to the app while it subscribes.
  await assert.rejects(
    query(roleUrl(primary, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('too early')"),
    /read-only transaction/,
  );
  // Running it again changes nothing.
  const again = await databaseAdapter.run(reprotectParams(), stepContext({ workDir, resumed: true }));
  assert.match(again.summary, /subscription found/);
  assert.equal(await count(primary), drRows + 1);
});

/** A configuration whose failback runbook cuts the rebuilt primary over from DR, as the lab's does. */
function failbackConfig() {
  const cutover = {
    action: 'cutover',
    subscriber: roleUrl(primary, ADMIN_ROLE, DB),
    publisher: roleUrl(dr, ADMIN_ROLE, DB),
    subscription_owner: primary.connectionString(DB),
    subscription: 'phoenix_failback',
    require_caught_up: true,
    catch_up: 2,
    sequence_gap: 1000,
  };
  const file = join(mkdtempSync(join(tmpdir(), 'phoenix-failback-config-')), 'phoenix.yaml');
  writeFileSync(
    file,
    stringify({
      store: { driver: 'sqlite', path: ':memory:' },
      runbooks: {
        replication: 'logical',
        failback: {
          stages: [{ name: 'switch', steps: [{ name: 'open-primary', type: 'database', params: cutover }] }],
        },
      },
    }),
  );
  return { config: loadConfig(file), cutover };
}

test('failback readiness is measured from both ends: ready while streaming, refused with the reason while the primary side lags', async () => {
  const { config, cutover } = failbackConfig();
  const ready = await failbackReadiness(config);
  assert.equal(ready.ready, true, ready.reasons.join('; '));
  assert.equal(ready.subscription, 'phoenix_failback');
  assert.equal(ready.tables_copying, 0);
  // The old primary stops applying (as one whose apply worker is stuck would); DR writes on.
  await query(
    primary.connectionString(DB),
    'BEGIN READ WRITE; ALTER SUBSCRIPTION phoenix_failback DISABLE; COMMIT',
  );
  await query(roleUrl(dr, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('not there yet')");
  const lagging = await failbackReadiness(config);
  assert.equal(lagging.ready, false);
  assert.match(lagging.reasons.join('; '), /subscription phoenix_failback is disabled/);
  assert.ok((lagging.bytes_behind ?? 0) > 0, JSON.stringify(lagging));
  const registry = new Registry();
  registerFailbackMetrics(registry, { latest: () => lagging });
  assert.match(await registry.metrics(), /phoenix_failback_ready 0/);
  await assert.rejects(
    databaseAdapter.run(databaseParamsSchema.parse({ ...cutover, catch_up: 0.5 }), stepContext()),
    /switchover refused: the subscriber has not confirmed everything .*WAL bytes short/,
  );
  await query(
    primary.connectionString(DB),
    'BEGIN READ WRITE; ALTER SUBSCRIPTION phoenix_failback ENABLE; COMMIT',
  );
  await waitUntil(
    async () => (await failbackReadiness(config)).ready,
    30_000,
    'the primary side to catch up',
    200,
  );
  const caughtUp = await failbackReadiness(config);
  registerFailbackMetrics((registry.clear(), registry), { latest: () => caughtUp });
  assert.match(await registry.metrics(), /phoenix_failback_ready 1/);
});

test('the controller starts no DR failover while a reprotect or failback runs, or after a reprotect until the failback', async () => {
  const run = (runbook: string, status: RunRow['status'], active: number | null, created_at: number) =>
    ({ id: `${runbook}-${created_at}`, runbook, status, active, created_at }) as RunRow;
  const journal = (runs: RunRow[]) => ({
    lastRun: (name: string) =>
      runs.filter((r) => r.runbook === name).sort((a, b) => b.created_at - a.created_at)[0],
  });
  assert.equal(await wayBackInProgress(journal([])), undefined);
  assert.match(
    (await wayBackInProgress(journal([run('reprotect', 'running', 1, 10)]))) ?? '',
    /reprotect run .* is in progress/,
  );
  assert.match(
    (await wayBackInProgress(journal([run('reprotect', 'succeeded', null, 10)]))) ?? '',
    /fail back \(phoenix failback\) before another DR failover/,
  );
  assert.match(
    (await wayBackInProgress(
      journal([run('reprotect', 'succeeded', null, 10), run('failback', 'running', 1, 20)]),
    )) ?? '',
    /failback run .* is in progress/,
  );
  assert.equal(
    await wayBackInProgress(
      journal([run('reprotect', 'succeeded', null, 10), run('failback', 'succeeded', null, 20)]),
    ),
    undefined,
  );
});

test('the controller’s decision sink refuses a DR failover after a reprotect, until the failback', async () => {
  const step = (name: string) => ({ name, type: 'command', params: { command: 'true' } });
  const config = parseConfig({
    store: { driver: 'sqlite', path: ':memory:' },
    runbooks: {
      dr_failover: { stages: [{ name: 'go', steps: [step('failover')] }] },
      reprotect: { stages: [{ name: 'back', steps: [step('subscribe')] }] },
    },
  });
  const db = openDatabase(':memory:');
  const sink = createRunbookDecisionSink({
    db,
    config,
    autoApprove: true,
    workDir: mkdtempSync(join(tmpdir(), 'phoenix-sink-')),
  });
  const reprotected = await (await sink.engine.start('reprotect', { trigger: 'manual' })).done;
  assert.equal(reprotected.status, 'succeeded');
  const outcome = await sink.onDecision({ action: 'dr_failover', reason: 'outage' } as Decision);
  assert.equal(outcome.kind, 'refused');
  assert.match((outcome as { reason: string }).reason, /old primary is reprotected .* fail back/);
  db.close();
});
