import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { createAnalyzer } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import { findScenarioFiles, parseScenario, replayScenario } from '../src/replay/index.js';
import { OWN_SCENARIOS, PUBLIC_CORPUS } from './helpers/paths.js';

type Doc = {
  name: string;
  interval?: string;
  steps: Array<{ signals?: Record<string, { detail?: string }>; context?: Record<string, unknown> }>;
};

// Each perturbation takes away something an outage can take away (a feed, the logs, the probes' prose) or
// changes the probe cadence. None may ever produce a false-positive DR or a premature one.
const PERTURBATIONS: Record<string, { change: (d: Doc) => void; allMet: boolean }> = {
  'without AWS Health': {
    change: (d) => d.steps.forEach((s) => delete s.context?.aws_health),
    allMet: false,
  },
  'without logs': { change: (d) => d.steps.forEach((s) => delete s.context?.logs), allMet: true },
  'without probe details': {
    change: (d) => d.steps.forEach((s) => Object.values(s.signals ?? {}).forEach((v) => delete v.detail)),
    allMet: true,
  },
  'without metrics': { change: (d) => d.steps.forEach((s) => delete s.context?.metrics), allMet: true },
  'without recorded changes': {
    change: (d) => d.steps.forEach((s) => delete s.context?.changes),
    allMet: false,
  },
  'at a 60 s interval': { change: (d) => (d.interval = '60s'), allMet: true },
  'at a 15 s interval': { change: (d) => (d.interval = '15s'), allMet: true },
};

const files = findScenarioFiles([PUBLIC_CORPUS, OWN_SCENARIOS]);
const config = defaultConfig();

for (const [name, { change, allMet }] of Object.entries(PERTURBATIONS)) {
  test(`${name}, no scenario gets a false-positive or premature DR${allMet ? ' and every one is still met' : ''}`, async () => {
    const problems: string[] = [];
    for (const file of files) {
      const doc = parse(readFileSync(file, 'utf8')) as Doc;
      change(doc);
      const result = await replayScenario(parseScenario(doc, file), {
        config,
        analyzer: () => createAnalyzer('evidence', config),
      });
      if (
        result.failures.false_positive_dr ||
        result.failures.premature_dr ||
        result.failures.false_region_failover ||
        (allMet && !result.met)
      ) {
        problems.push(`${doc.name}: ${result.problems.join('; ')}`);
      }
    }
    assert.deepEqual(problems, []);
  });
}
