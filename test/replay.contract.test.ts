import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAnalyzer } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import { parseScenario, replayScenario, ScenarioError } from '../src/replay/index.js';
import { PUBLIC_CORPUS, REPO_ROOT, runCli, SHARED_SCENARIOS } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-replay-'));

test('the bundled scenario schema is the shared format (kept in step with shared/scenarios/schema.json)', () => {
  const bundled = JSON.parse(readFileSync(join(REPO_ROOT, 'src/replay/scenario.schema.json'), 'utf8'));
  const shared = JSON.parse(readFileSync(join(SHARED_SCENARIOS, 'schema.json'), 'utf8'));
  assert.deepEqual(bundled, shared);
});

test('state is carried forward between steps and each cycle sees the snapshot in force', async () => {
  const scenario = parseScenario(
    {
      name: 'carry-forward',
      description: 'd',
      interval: '1m',
      duration: '4m',
      steps: [
        { at: 0, signals: { internal_services: { status: 'ok' }, eks_nodes: { status: 'ok' } } },
        { at: '2m', signals: { internal_services: { status: 'error' } } },
        { at: '3m', signals: { eks_nodes: { status: 'error' } } },
      ],
      expect: { action: 'self_heal', why: 'w' },
    },
    'inline',
  );
  const config = defaultConfig();
  const result = await replayScenario(scenario, {
    config,
    analyzer: () => createAnalyzer('threshold', config),
  });
  assert.deepEqual(
    result.cycles.map((c) => [c.at, c.score]),
    [
      [0, 0],
      [60, 0],
      [120, 5],
      [180, 9],
      [240, 9],
    ],
  );
  // A held action is listed once, when it starts.
  assert.deepEqual(
    result.decisions.map((d) => [d.at, d.action]),
    [[120, 'self_heal']],
  );
});

test('an invalid scenario names the file and the path inside it', () => {
  assert.throws(
    () =>
      parseScenario(
        {
          name: 'x',
          description: 'd',
          steps: [{ at: 0, signals: { eks_nodes: { status: 'purple' } } }],
          expect: { action: 'none', why: 'w' },
        },
        'bad.yaml',
      ),
    (error: unknown) =>
      error instanceof ScenarioError &&
      /bad\.yaml: steps\.0\.signals\.eks_nodes\.status: must be one of/.test(error.message),
  );
});

test('replay --json prints one valid object per scenario with the contract fields', async () => {
  const result = await runCli(['replay', PUBLIC_CORPUS, '--json', '--analyzer', 'threshold']);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 24);
  for (const line of lines) {
    const object = JSON.parse(line);
    assert.deepEqual(Object.keys(object), ['scenario', 'file', 'decisions', 'met', 'problems']);
    assert.equal(typeof object.met, 'boolean');
    for (const d of object.decisions) {
      assert.deepEqual(Object.keys(d), ['at', 'action', 'score', 'category', 'confidence', 'reason']);
      assert.notEqual(d.action, 'none');
    }
  }
});

test('replay --check exits 1 when a scenario is not met, and a broken file exits 2 naming it', async () => {
  const check = await runCli([
    'replay',
    join(PUBLIC_CORPUS, 'bad-deploy-null-pointer.yaml'),
    '--check',
    '--analyzer',
    'threshold',
  ]);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /false-positive DR/);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'name: Not A Slug\ndescription: d\nsteps: []\nexpect: { action: none, why: w }\n');
  const bad = await runCli(['replay', broken]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`${broken}: name: must match pattern`));
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});
