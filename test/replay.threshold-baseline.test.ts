import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAnalyzer } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import { findScenarioFiles, loadScenarioFile, replayScenario, summarize } from '../src/replay/index.js';
import { PUBLIC_CORPUS } from './helpers/paths.js';

// The naive baseline must stay honest: if scoring or replay changes its outcome, this shows it.
test('the threshold baseline on the public corpus makes exactly these mistakes', async () => {
  const config = defaultConfig();
  const results = [];
  for (const file of findScenarioFiles([PUBLIC_CORPUS])) {
    results.push(
      await replayScenario(loadScenarioFile(file), {
        config,
        analyzer: () => createAnalyzer('threshold', config),
      }),
    );
  }
  assert.deepEqual(summarize('threshold', results), {
    analyzer: 'threshold',
    scenarios: 24,
    met: 3,
    false_positive_dr: 15,
    missed_dr: 0,
    premature_dr: 6,
    false_region_failover: 0,
    missed_region_failover: 2,
    category_matched: 0,
    category_judged: 8,
    dr_after_first_failure_s: { count: 23, median: 0, max: 420 },
  });
});
