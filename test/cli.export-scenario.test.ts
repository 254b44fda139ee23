import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HistoryStore, openDatabase, type CycleRecord } from '../src/store/index.js';
import { runCli } from './helpers/paths.js';
import { parseTime } from '../src/cli/commands/export-scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-export-'));
const configFile = join(dir, 'phoenix.yaml');
const START = 1_764_608_400;

function cycle(offset: number, failing: boolean): CycleRecord {
  const at = START + offset + 0.004;
  const level = failing ? 'self_heal' : 'none';
  const score = failing ? 5 : 0;
  return {
    at,
    reason: 'schedule',
    duration_ms: 10,
    signals: {
      internal_services: failing
        ? { status: 'error', healthy: 1, total: 3, failing: [{ name: 'cart', reason: 'HTTP 500' }] }
        : { status: 'ok', healthy: 3, total: 3 },
    },
    score: { score, level, contributions: [], notes: [] },
    decision: {
      at,
      action: failing ? 'self_heal' : 'none',
      score,
      level,
      category: failing ? 'internal_application' : 'unknown',
      confidence: 'medium',
      reason: 'test',
      blocked_by: [],
    },
    ...(failing
      ? {
          context: {
            changes: [{ at: START + 20, kind: 'deploy' as const, service: 'cart', description: 'cart v2' }],
            metrics: { error_rate: 0.3 },
          },
        }
      : {}),
  };
}

before(async () => {
  writeFileSync(
    configFile,
    `interval: 30s\nstore: { driver: sqlite, path: ${join(dir, 'phoenix.db')} }\ndecision: { analyzer: evidence }\n`,
  );
  const store = new HistoryStore(openDatabase(join(dir, 'phoenix.db')));
  for (let i = 0; i < 6; i++) await store.record(cycle(i * 30, i >= 2));
  await store.db.close();
});

test('export-scenario writes a recorded range as a scenario that phoenix replay runs', async () => {
  const out = join(dir, 'recorded.yaml');
  const result = await runCli([
    'export-scenario',
    '--config',
    configFile,
    '--from',
    new Date(START * 1000).toISOString(),
    '--to',
    String(START + 600),
    '--expect',
    'self_heal',
    '--name',
    'cart-release',
    '--out',
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /6 cycles written to .*recorded\.yaml/);
  const doc = parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  assert.equal(doc.name, 'cart-release');
  assert.equal(doc.interval, 30);
  const steps = doc.steps as Array<{ at: number; context?: { changes?: Array<{ at: number }> } }>;
  assert.deepEqual(
    steps.map((s) => s.at),
    [0, 30, 60, 90, 120, 150],
  );
  // Offsets count from the first recorded cycle (4 ms after START).
  assert.equal(steps[2].context?.changes?.[0].at, 19.996);
  assert.equal((doc.expect as { action: string }).action, 'self_heal');

  const replay = await runCli(['replay', out, '--json', '--config', configFile]);
  assert.equal(replay.code, 0, replay.stderr);
  const line = JSON.parse(replay.stdout) as { scenario: string; decisions: Array<{ at: number }> };
  assert.equal(line.scenario, 'cart-release');
});

test('export-scenario names the problem: an empty range, a bad time; --help lists its options', async () => {
  const empty = await runCli(['export-scenario', '--config', configFile, '--from', '1000', '--to', '2000']);
  assert.equal(empty.code, 2);
  assert.match(
    empty.stderr,
    /no cycles recorded between 1970-01-01T00:16:40\.000Z and 1970-01-01T00:33:20\.000Z .*; it holds 6 cycles, the newest at 2025-12-01T17:02:30/,
  );
  const badTime = await runCli([
    'export-scenario',
    '--config',
    configFile,
    '--from',
    'yesterday',
    '--to',
    '2000',
  ]);
  assert.equal(badTime.code, 2);
  assert.match(badTime.stderr, /--from "yesterday" is not a time; write ISO-8601 .* or Unix seconds/);
  for (const r of [empty, badTime]) assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  const help = await runCli(['export-scenario', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--from <time>[\s\S]*--expect <action>/);
});

test('export-scenario reads ISO-8601 and Unix seconds, and refuses what is neither', () => {
  assert.equal(parseTime('1764608400', '--from'), 1764608400);
  assert.equal(parseTime('1764608400.5', '--from'), 1764608400.5);
  assert.equal(parseTime('2025-12-01T17:00:00Z', '--from'), 1764608400);
  assert.equal(parseTime('2025-12-01T18:00:00+01:00', '--from'), 1764608400);
  for (const bad of ['yesterday', '12/01/2025', '2025-13-45T00:00:00Z', '-5', ''])
    assert.throws(() => parseTime(bad, '--to'), /--to ".*" is not a time; write ISO-8601/);
});
