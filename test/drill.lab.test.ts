import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { processesUsing } from '../src/lab/index.js';
import { HistoryStore, openDatabase } from '../src/store/index.js';
import { loadConfig } from '../src/config/index.js';
import { createAnalyzer } from '../src/analysis/index.js';
import { loadScenarioFile, replayScenario } from '../src/replay/index.js';
import type { DrillReport } from '../src/lab/drill.js';
import { PHOENIX_CLI, REPO_ROOT, runCli } from './helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-drill-'));

after(async () => {
  for (const name of ['outage', 'deploy', 'interrupted'])
    await runCli(['lab', 'down', '--dir', join(root, name)]);
  rmSync(root, { recursive: true, force: true });
});

// The JSON line the drill prints is the report itself.
type DrillJson = Omit<DrillReport, 'evidence'>;

function lastJson(stdout: string): DrillJson {
  return JSON.parse(stdout.trim().split('\n').pop()!) as DrillJson;
}

function leftovers(dir: string): string[] {
  return processesUsing(dir).map((p) => `${p.pid} ${p.command}`);
}

/**
 * Exports the drill's whole recording as a scenario, replays it through the decision core with the
 * drill's configuration, and compares decision and category at every recorded cycle up to the failover
 * with the live run.
 */
async function assertReplayMatchesLive(dir: string): Promise<void> {
  const configFile = join(dir, 'phoenix.yaml');
  const file = join(dir, 'recorded.yaml');
  const range = ['--from', '0', '--to', String(Math.ceil(Date.now() / 1000))];
  const exported = await runCli(['export-scenario', '--config', configFile, ...range, '--out', file]);
  assert.equal(exported.code, 0, exported.stderr);
  const config = loadConfig(configFile);
  const scenario = loadScenarioFile(file);
  const replayed = await replayScenario(scenario, {
    config,
    analyzer: () => createAnalyzer(config.decision.analyzer, config),
  });
  const store = new HistoryStore(openDatabase(config.store.path));
  const all = await store.cycles({ limit: 100_000 });
  await store.db.close();
  const first = all.findIndex((c) => c.decision.action === 'dr_failover');
  assert.ok(first >= 0, 'the live controller failed over');
  // The failover's run moves the site state to dr_active, and from then on the live controller decides
  // for the site that serves: an input a scenario file does not carry, so parity holds up to the
  // failover. After it, nothing may fail over again (or "back") on its own.
  assert.deepEqual(
    all.slice(first + 1).filter((c) => /failover/.test(c.decision.action)),
    [],
    'a failover decided after DR took over',
  );
  const cycles = all.slice(0, first + 1);
  const slot = (at: number) => Math.round((at - cycles[0].at) / scenario.interval) * scenario.interval;
  const live = cycles.map((c) => `${slot(c.at)}s ${c.decision.action} ${c.decision.category}`);
  assert.ok(live.some((d) => d.includes('dr_failover')));
  const bySlot = new Map(replayed.cycles.map((d) => [d.at, `${d.at}s ${d.action} ${d.category}`]));
  const atRecorded = cycles.map((c) => bySlot.get(slot(c.at)));
  // A live cycle that overran its interval leaves slots with no cycle, which the replay runs on the
  // state in force (export-scenario says so): from there a decision that needs consecutive cycles can
  // come a slot earlier in the replay. Parity is exact up to the first such gap; after it the replay
  // must reach the same failover, no earlier than the slot after the live cycle before it, no later.
  const firstGap = cycles.findIndex(
    (c, i) => i > 0 && slot(c.at) - slot(cycles[i - 1].at) > scenario.interval,
  );
  if (firstGap === -1) {
    assert.deepEqual(atRecorded, live, exported.stderr);
    return;
  }
  assert.deepEqual(atRecorded.slice(0, firstGap), live.slice(0, firstGap), exported.stderr);
  const liveFailover = cycles.findIndex((c) => c.decision.action === 'dr_failover');
  const replayFailover = replayed.cycles.find((d) => d.action === 'dr_failover');
  assert.ok(replayFailover, `the replay never fails over\n${exported.stderr}`);
  const earliest = liveFailover > 0 ? slot(cycles[liveFailover - 1].at) : -1;
  assert.ok(
    replayFailover.at > earliest && replayFailover.at <= slot(cycles[liveFailover].at),
    `replay failed over at +${replayFailover.at}s, live at ${live[liveFailover]}\n${exported.stderr}`,
  );
  assert.equal(replayFailover.category, cycles[liveFailover].decision.category);
}

test('a regional outage drill fails over to DR through DNS and counts the data lost; lab down then leaves nothing', async () => {
  const dir = join(root, 'outage');
  const result = await runCli(
    ['drill', '--lab', '--scenario', 'regional-outage', '--interval', '3', '--dir', dir, '--keep', '--json'],
    { timeoutMs: 240_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = lastJson(result.stdout);
  assert.equal(report.scenario, 'regional-outage');
  // By default the DR database is a logical subscriber, as between RDS and Azure Flexible Server.
  assert.equal(report.replication, 'logical');
  assert.equal(report.decision, 'dr_failover');
  assert.equal(report.category, 'aws_infrastructure');
  assert.deepEqual(
    report.stages.map((s) => s.name),
    ['fence', 'promote', 'dns', 'verify'],
  );
  assert.ok(report.detect_s !== null && report.decide_s !== null && report.detect_s <= report.decide_s);
  assert.ok(report.rto_s !== null && report.rto_s >= report.decide_s!);
  // As a client behind a caching resolver sees it, and as BIND answers: the client never sees DR first.
  assert.ok(report.rto_authoritative_s !== null && report.rto_s >= report.rto_authoritative_s);
  // Counted against the promoted database and the blob container, bounded by what was acknowledged.
  assert.ok(report.writes.acknowledged_primary > 0 && report.writes.acknowledged_dr > 0);
  assert.ok(report.writes.primary_per_s! > 0, 'the load the lab sustained before the fault is reported');
  for (const lost of [report.rpo_rows_lost, report.rpo_objects_lost]) {
    assert.equal(typeof lost, 'number');
    assert.ok(lost! >= 0 && lost! <= report.writes.acknowledged_primary);
  }
  // Each object lost says how long before the fault the primary acknowledged it (the copy lag explains it).
  assert.equal((report.rpo_objects_lost_age_ms ?? []).length, report.rpo_objects_lost);
  // Objects reached Azure Blob through S3 event notifications, not only through listing passes.
  assert.ok(report.object_replication.copies > 0);
  assert.match(result.stderr, /FAULT: the primary site is lost/);
  assert.match(result.stderr, /stage dns succeeded/);

  // Live <-> replay parity: the drill's recording, exported and replayed, decides the same at the same cycles.
  await assertReplayMatchesLive(dir);

  // The lab is still up (--keep) with its primary site killed: `lab down` from another process cleans up.
  assert.notDeepEqual(leftovers(dir), []);
  const down = await runCli(['lab', 'down', '--dir', dir]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(leftovers(dir), []);
  assert.equal(existsSync(dir), false);
});

test('a bad deploy drill declines DR and says why', async () => {
  const dir = join(root, 'deploy');
  const result = await runCli(
    ['drill', '--lab', '--scenario', 'bad-deploy', '--interval', '3', '--dir', dir, '--json'],
    { timeoutMs: 240_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = lastJson(result.stdout);
  assert.equal(report.scenario, 'bad-deploy');
  assert.notEqual(report.decision, 'dr_failover');
  assert.equal(report.decide_s, null);
  assert.equal(report.rto_s, null);
  assert.deepEqual(report.stages, []);
  assert.notEqual(report.category, 'aws_infrastructure');
  assert.ok(report.reason.length > 0);
  assert.equal(existsSync(dir), false, 'the drill tears its lab down');
  assert.deepEqual(leftovers(dir), []);
});

test('a drill stopped with Ctrl-C tears its lab down and exits non-zero', async () => {
  const dir = resolve(root, 'interrupted');
  const child = spawn(process.execPath, [PHOENIX_CLI, 'drill', '--lab', '--interval', '3', '--dir', dir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    await new Promise<void>((started, failed) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('controller: every')) started();
      });
      void exited.then(() => failed(new Error(`the drill ended before its controller started: ${stderr}`)));
    });
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /SIGINT: stopping the drill and tearing the lab down/);
    assert.match(stderr, /drill failed: interrupted/);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(leftovers(dir), []);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a drill will not build over a lab left behind, and names the command that removes it', async () => {
  const dir = join(root, 'left-behind');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'lab.json'),
    JSON.stringify({ version: 1, dir, createdAt: new Date().toISOString(), zone: 'lab.phoenix.test' }),
  );
  const result = await runCli(['drill', '--lab', '--dir', dir]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`a lab already exists in ${dir}; run \`phoenix lab down --dir ${dir}\``),
  );
  assert.equal(existsSync(join(dir, 'lab.json')), true, 'the drill leaves a lab it did not build alone');
  const down = await runCli(['lab', 'down', '--dir', dir]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(existsSync(dir), false);
});
