import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { applyPolicy } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import type { Analysis } from '../src/core/index.js';
import { classifyText } from '../src/analysis/evidence/index.js';
import { evaluate, parseScenario } from '../src/replay/index.js';
import { scoreSnapshot } from '../src/scoring/index.js';
import { loadDoc, replayDoc } from './helpers/scenario-variants.js';
import { OWN_SCENARIOS } from './helpers/paths.js';

const config = defaultConfig();

function recommendDr(users: 'total' | 'partial', held_s: number): Analysis {
  return {
    analyzer: 'evidence',
    root_cause: 'an AWS infrastructure failure in the primary region',
    root_cause_category: 'aws_infrastructure',
    confidence: 'high',
    recommended_action: 'trigger_dr',
    reasoning: 'sustained',
    evidence: [],
    dr_ready: { ready: true, reasons: [] },
    impact: {
      users,
      held_s,
      total_since: users === 'total' ? 0 : undefined,
      basis: ['4 of 4 outside vantage points fail'],
    },
  };
}

// A low score: every outside vantage fails, the insides are green.
const lowScore = scoreSnapshot(
  { external_uptime: { status: 'error', up: 0, total: 4 }, aws_cross_region: { status: 'degraded' } },
  config.scoring,
);

function decide(analysis: Analysis, now: number) {
  return applyPolicy({
    now,
    score: lowScore,
    analysis,
    gated: true,
    config: config.decision,
    state: {},
    hasSecondary: false,
  });
}

test('a total loss of reach that lasted the DR window carries a DR below the DR level; the score stays as scored', () => {
  assert.equal(lowScore.score, 4);
  const decision = applyPolicy({
    now: 420,
    score: lowScore,
    analysis: recommendDr('total', config.decision.confirm_window_dr_s),
    gated: true,
    config: config.decision,
    state: {},
    hasSecondary: false,
  });
  assert.equal(decision.action, 'dr_failover');
  assert.equal(decision.score, 4);
  assert.match(decision.reason, /below the DR level, the impact carries it/);
});

test('a partial loss, or a total one shorter than the DR window, does not carry a DR below the level', () => {
  for (const analysis of [
    recommendDr('partial', 900),
    recommendDr('total', config.decision.confirm_window_dr_s - 31),
  ]) {
    const decision = decide(analysis, 420);
    assert.equal(decision.action, 'self_heal');
  }
});

test('a total loss of reach never carries a DR past an unready DR site or a medium confidence', () => {
  const unready = {
    ...recommendDr('total', 900),
    dr_ready: { ready: false, reasons: ['over the RPO budget'] },
  };
  const unsure = { ...recommendDr('total', 900), confidence: 'medium' as const };
  for (const analysis of [unready, unsure]) {
    const decision = decide(analysis, 900);
    assert.equal(decision.action, 'escalate');
  }
});

test('resolver failures for our own hostnames read as DNS, and failing calls to our own domains are not a third party', async () => {
  assert.ok(classifyText('curl: (6) Could not resolve host: www.shop-example.com').has('dns_own'));
  const file = join(OWN_SCENARIOS, 'aws-use1-elb-outage-own-hostnames-fail-in-logs.yaml');
  const result = await replayDoc(loadDoc(file), file);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(
    result.cycles.filter((c) => c.category === 'internal_application').map((c) => c.at),
    [],
    'no cycle blames a third party for our own hostnames',
  );
});

test('in-region probes that go silent while the region fails from outside count for the region, not as 0', async () => {
  const file = join(OWN_SCENARIOS, 'aws-use1-region-outage-in-region-probers-go-blind.yaml');
  const result = await replayDoc(loadDoc(file), file);
  const dr = result.cycles.find((c) => c.action === 'dr_failover');
  assert.ok(dr, 'a DR is decided');
  assert.ok(dr.score < 11, 'although the score fell below the DR level');
  assert.ok(
    dr.analysis?.evidence.some((e) => e.weight > 0 && /cannot run while it fails from outside/.test(e.says)),
  );
});

test('a premature DR is never forgiven by a later one inside the window', () => {
  const scenario = parseScenario(
    {
      name: 'x',
      description: 'x',
      steps: [{ at: 0 }],
      expect: { action: 'dr_failover', not_before: '5m', by: '10m', why: 'x' },
    },
    'x.yaml',
  );
  const result = evaluate(scenario, [
    { at: 60, action: 'dr_failover', category: 'aws_infrastructure' },
    { at: 400, action: 'dr_failover', category: 'aws_infrastructure' },
  ]);
  assert.equal(result.met, false);
  assert.equal(result.failures.premature_dr, true);
});
