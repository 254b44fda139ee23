import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-drill-'));

after(async () => {
  for (const name of ['outage', 'deploy']) await runCli(['lab', 'down', '--dir', join(root, name)]);
  rmSync(root, { recursive: true, force: true });
});

interface DrillJson {
  scenario: string;
  decision: string;
  detect_s: number | null;
  decide_s: number | null;
  rto_s: number | null;
  rpo_rows_lost: number | null;
  rpo_objects_lost: number | null;
  stages: Array<{ name: string; seconds: number }>;
}

function lastJson(stdout: string): DrillJson {
  return JSON.parse(stdout.trim().split('\n').pop()!) as DrillJson;
}

test('a regional outage drill fails over to DR through DNS and counts the data lost', async () => {
  const dir = join(root, 'outage');
  const result = await runCli(
    ['drill', '--lab', '--scenario', 'regional-outage', '--interval', '3', '--dir', dir, '--json'],
    { timeoutMs: 400_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = lastJson(result.stdout);
  assert.equal(report.scenario, 'regional-outage');
  assert.equal(report.decision, 'dr_failover');
  assert.deepEqual(
    report.stages.map((s) => s.name),
    ['fence', 'promote', 'storage_sync', 'dns', 'verify'],
  );
  assert.ok(report.detect_s !== null && report.decide_s !== null && report.detect_s <= report.decide_s);
  assert.ok(report.rto_s !== null && report.rto_s >= report.decide_s!);
  assert.equal(typeof report.rpo_rows_lost, 'number');
  assert.equal(typeof report.rpo_objects_lost, 'number');
  assert.match(result.stderr, /FAULT: the primary site is lost/);
  assert.equal(existsSync(dir), false, 'the drill tears its lab down');
});

test('a bad deploy drill declines DR and says why', async () => {
  const dir = join(root, 'deploy');
  const result = await runCli(
    ['drill', '--lab', '--scenario', 'bad-deploy', '--interval', '3', '--dir', dir, '--json'],
    {
      timeoutMs: 400_000,
    },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = lastJson(result.stdout) as DrillJson & { reason: string; category: string };
  assert.equal(report.scenario, 'bad-deploy');
  assert.notEqual(report.decision, 'dr_failover');
  assert.equal(report.decide_s, null);
  assert.equal(report.rto_s, null);
  assert.deepEqual(report.stages, []);
  assert.notEqual(report.category, 'aws_infrastructure');
  assert.ok(report.reason.length > 0);
  assert.equal(existsSync(dir), false);
});
