import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Analysis, ScoreResult } from '../core/index.js';
import { defaultDecisionConfig } from '../config/index.js';
import { applyPolicy } from './policy.js';

const drScore: ScoreResult = { score: 16, level: 'dr_failover', contributions: [], notes: [] };
const drAnalysis: Analysis = {
  analyzer: 'test',
  root_cause: 'regional AWS failure',
  root_cause_category: 'aws_infrastructure',
  confidence: 'high',
  recommended_action: 'trigger_dr',
  reasoning: 'because',
  evidence: [],
  dr_ready: { ready: true, reasons: [] },
};

function decide(overrides: {
  analysis?: Partial<Analysis>;
  score?: ScoreResult;
  config?: Partial<ReturnType<typeof defaultDecisionConfig>>;
  lastFailoverAt?: number;
  now?: number;
}) {
  return applyPolicy({
    now: overrides.now ?? 1000,
    score: overrides.score ?? drScore,
    analysis: { ...drAnalysis, ...overrides.analysis },
    gated: true,
    config: { ...defaultDecisionConfig(), ...overrides.config },
    state: { lastFailoverAt: overrides.lastFailoverAt },
    hasSecondary: false,
  });
}

test('a confirmed, confident primary-cloud failure with a ready DR site fails over', () => {
  assert.equal(decide({}).action, 'dr_failover');
});

test('the kill switch and a maintenance window hold DR back and hand it to a human', () => {
  const killed = decide({ config: { kill_switch: true } });
  assert.equal(killed.action, 'escalate');
  assert.match(killed.reason, /kill switch/);
  const maintenance = decide({
    config: { maintenance_windows: [{ start: 900, end: 1100, reason: 'RDS upgrade' }] },
  });
  assert.equal(maintenance.action, 'escalate');
  assert.match(maintenance.reason, /maintenance window \(RDS upgrade\)/);
});

test('medium confidence, an internal category or an unready DR site never fail over', () => {
  assert.equal(decide({ analysis: { confidence: 'medium' } }).action, 'escalate');
  assert.equal(decide({ analysis: { root_cause_category: 'internal_application' } }).action, 'escalate');
  const unready = decide({
    analysis: { dr_ready: { ready: false, reasons: ['the DR cloud reports a major incident'] } },
  });
  assert.equal(unready.action, 'escalate');
  assert.match(unready.reason, /DR site not ready: the DR cloud reports a major incident/);
});

test('below the DR level a DR recommendation becomes self-healing', () => {
  const d = decide({ score: { score: 9, level: 'region_failover', contributions: [], notes: [] } });
  assert.equal(d.action, 'self_heal');
});

test('a failover already decided holds through the cooldown instead of deciding again', () => {
  const d = decide({ lastFailoverAt: 900, now: 1000 });
  assert.equal(d.action, 'none');
  assert.deepEqual(d.blocked_by, ['cooldown']);
  assert.equal(decide({ lastFailoverAt: 900, now: 900 + 3601 }).action, 'dr_failover');
});

test('region failover needs a secondary region', () => {
  const d = decide({ analysis: { recommended_action: 'region_failover' } });
  assert.equal(d.action, 'escalate');
  assert.match(d.reason, /no secondary region/);
});
