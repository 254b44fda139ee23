import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { DrillScheduler, DrillStore } from '../../src/drills/index.js';
import { Journal } from '../../src/runbook/index.js';
import { evidenceReport } from '../../src/report/index.js';
import { RunbookEngine } from '../../src/runbook/index.js';
import { startServer } from '../../src/server/index.js';
import { openDatabase } from '../../src/store/index.js';
import { READ_TOKEN, serverConfig } from '../server/harness.js';
import { reportConfig } from '../report/report-world.js';

function drillWorld(drills: Record<string, unknown>, binary = 'sh') {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-drills-'));
  const step = (name: string) => ({
    name,
    type: 'command',
    params: { command: binary, args: ['-c', 'true'], drill: 'run' },
  });
  const { config } = reportConfig(dir, {
    drills: { schedule: '0 3 * * 1', runbook: 'dr_failover', ...drills },
    runbooks: {
      dr_failover: {
        stages: [
          { name: 'promote', steps: [step('promote-db')] },
          { name: 'verify', steps: [step('smoke-test')] },
        ],
      },
    },
  });
  const db = openDatabase(config.store.path);
  const store = new DrillStore(db);
  return {
    dir,
    config,
    db,
    store,
    cleanup: () => (db.close(), rmSync(dir, { recursive: true, force: true })),
  };
}

test('a bad cron expression or time zone in drills is one error naming the path', () => {
  assert.throws(
    () => parseConfig({ drills: { schedule: '61 3 * * 1' } }),
    (error: Error) => /drills\.schedule/.test(error.message) && /not a cron expression/.test(error.message),
  );
  assert.throws(
    () => parseConfig({ drills: { schedule: '0 3 * * 1', timezone: 'Mars/Base' } }),
    /drills\.timezone: is not an IANA time zone/,
  );
});

test('the schedule is read by croner: "0 3 * * 1" is next due on Monday 03:00 UTC', () => {
  const world = drillWorld({});
  try {
    const scheduler = new DrillScheduler({ config: world.config, store: world.store, isLeader: () => true });
    const due = scheduler.nextDue(Date.parse('2026-12-01T12:00:00Z') / 1000);
    assert.equal(new Date(due! * 1000).toISOString(), '2026-12-07T03:00:00.000Z');
  } finally {
    world.cleanup();
  }
});

test('only the leader drills, each slot once; a readiness drill is recorded and reported, and a failing check fails it', async () => {
  const world = drillWorld({});
  try {
    const follower = new DrillScheduler({ config: world.config, store: world.store, isLeader: () => false });
    assert.equal(await follower.runSlot(1_800_000_000), undefined);
    assert.equal((await world.store.list()).length, 0);
    const leader = new DrillScheduler({ config: world.config, store: world.store, isLeader: () => true });
    const drill = await leader.runSlot(1_800_000_000);
    assert.equal(drill?.status, 'succeeded', drill?.detail ?? '');
    assert.equal(await leader.runSlot(1_800_000_000), undefined, 'the same slot never runs twice');
    const report = await evidenceReport(world.db, world.config, drill!.id, Date.now() / 1000);
    assert.equal(report.kind, 'drill');
    assert.deepEqual(
      report.stages.map((s) => s.name),
      ['promote', 'verify'],
    );
  } finally {
    world.cleanup();
  }
  const broken = drillWorld({}, '/nonexistent/bin/tool');
  try {
    const leader = new DrillScheduler({ config: broken.config, store: broken.store, isLeader: () => true });
    const drill = await leader.runSlot(1_800_000_000);
    assert.equal(drill?.status, 'failed');
    assert.equal(await broken.store.lastSuccess(), undefined);
  } finally {
    broken.cleanup();
  }
});

test('a drill in run mode measures an RTO, and /metrics exposes the last success time and that RTO', async () => {
  const world = drillWorld({ mode: 'run' });
  const engine = new RunbookEngine({
    db: world.db,
    config: world.config,
    pollMs: 20,
    workDir: join(world.dir, 'runs'),
  });
  const server = await startServer({
    config: serverConfig(),
    deps: { drills: world.store },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    const scheduler = new DrillScheduler({
      config: world.config,
      store: world.store,
      isLeader: () => true,
      engine,
    });
    const metrics = async () =>
      (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).text();
    const value = (name: string, text: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    // Before any drill measured one, the RTO is NaN, never a 0 that reads as an instant recovery.
    // (prom-client writes it "Nan"; Prometheus parses any case of NaN.)
    const before = value('phoenix_drill_last_rto_seconds', await metrics());
    assert.match(before ?? '', /^nan$/i);
    const drill = await scheduler.runSlot(null);
    assert.equal(drill?.status, 'succeeded', drill?.detail ?? '');
    assert.ok(drill!.run_id && drill!.rto_s! > 0);
    // The run mode runs the runbook in drill mode: each step's rehearsal (here `drill: run`).
    const run = await new Journal(world.db).steps(drill!.run_id!);
    assert.deepEqual(
      run.map((s) => s.summary?.slice(0, 7)),
      ['drill: ', 'drill: '],
    );
    const text = await metrics();
    assert.equal(Number(value('phoenix_drill_last_success_timestamp_seconds', text)), drill!.finished_at);
    assert.equal(Number(value('phoenix_drill_last_rto_seconds', text)), drill!.rto_s);
  } finally {
    await server.close();
    world.cleanup();
  }
});

test('a drill in run mode that skipped steps lists them and marks its RTO partial', async () => {
  const world = drillWorld({ mode: 'run' });
  // A second runbook whose last step has no drill behaviour (a command without `drill`).
  const runbooks = world.config.raw.runbooks as Record<
    string,
    { stages: Array<{ name: string; steps: unknown[] }> }
  >;
  runbooks.dr_failover.stages[1].steps.push({
    name: 'page-vendor',
    type: 'command',
    params: { command: 'true' },
  });
  const engine = new RunbookEngine({
    db: world.db,
    config: world.config,
    pollMs: 20,
    workDir: join(world.dir, 'runs'),
  });
  try {
    const scheduler = new DrillScheduler({
      config: world.config,
      store: world.store,
      isLeader: () => true,
      engine,
    });
    const drill = await scheduler.runSlot(null);
    assert.equal(drill?.status, 'succeeded', drill?.detail ?? '');
    assert.equal(drill!.rto_partial, 1);
    assert.deepEqual(
      (JSON.parse(drill!.skipped_steps!) as Array<{ step: string }>).map((s) => s.step),
      ['page-vendor'],
    );
    assert.match(drill!.detail!, /RTO partial: skipped page-vendor/);
    assert.deepEqual(await world.store.lastSuccess(), {
      at: drill!.finished_at,
      rto_s: drill!.rto_s,
      rto_partial: true,
    });
  } finally {
    world.cleanup();
  }
});
