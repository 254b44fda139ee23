import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAnalyzer } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import { findScenarioFiles, loadScenarioFile, replayScenario, summarize } from '../src/replay/index.js';
import { OWN_SCENARIOS, PUBLIC_CORPUS, runCli } from './helpers/paths.js';

async function replayAll(dir: string) {
  const config = defaultConfig();
  const results = [];
  for (const file of findScenarioFiles([dir])) {
    results.push(
      await replayScenario(loadScenarioFile(file), {
        config,
        analyzer: () => createAnalyzer('evidence', config),
      }),
    );
  }
  return results;
}

test('the evidence analyzer meets every public scenario with no false-positive DR', async () => {
  const results = await replayAll(PUBLIC_CORPUS);
  const failed = results.filter((r) => !r.met).map((r) => `${r.scenario}: ${r.problems.join('; ')}`);
  assert.deepEqual(failed, []);
  assert.equal(summarize('evidence', results).false_positive_dr, 0);
});

test('the evidence analyzer meets our own scenarios, one per rule', async () => {
  const results = await replayAll(OWN_SCENARIOS);
  assert.ok(results.length >= 5);
  const failed = results.filter((r) => !r.met).map((r) => `${r.scenario}: ${r.problems.join('; ')}`);
  assert.deepEqual(failed, []);
});

test('every DR decision carries its category, high confidence and evidence-based reasoning', async () => {
  const results = await replayAll(PUBLIC_CORPUS);
  for (const r of results) {
    for (const c of r.cycles.filter((c) => c.action === 'dr_failover')) {
      assert.equal(c.confidence, 'high');
      assert.ok(['aws_infrastructure', 'cloudflare_infrastructure'].includes(c.category));
      assert.ok(
        c.analysis && c.analysis.evidence.some((e) => e.weight > 0 && e.source.startsWith('signal:')),
        r.scenario,
      );
    }
  }
});

test('instruction-like log lines are flagged as red flags, never used as evidence for DR', async () => {
  const results = await replayAll(PUBLIC_CORPUS);
  const injected = results.filter((r) => r.scenario.startsWith('prompt-injection'));
  assert.equal(injected.length, 2);
  for (const r of injected) {
    const flagged = r.cycles.filter((c) =>
      c.analysis?.evidence.some((e) => e.source === 'context:untrusted'),
    );
    assert.ok(flagged.length > 0, `${r.scenario} flags the injected text`);
    for (const c of flagged) {
      for (const e of c.analysis!.evidence.filter((e) => e.source === 'context:untrusted'))
        assert.equal(e.weight, 0);
      assert.notEqual(c.action, 'dr_failover');
    }
  }
});

test('phoenix replay --check exits 0 on the public corpus and prints the baseline beside it', async () => {
  const result = await runCli(['replay', PUBLIC_CORPUS, '--check']);
  assert.equal(result.code, 0, result.stdout.slice(-2000));
  assert.match(result.stdout, /evidence\s+24 scenarios, 24 met, 0 false-positive DR/);
  assert.match(result.stdout, /threshold\s+24 scenarios, 3 met, 15 false-positive DR.*naive baseline/);
});
