import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultScoringConfig, levelFor, scoreSnapshot } from './index.js';

const allOk = {
  internal_services: { status: 'ok' as const },
  external_uptime: { status: 'ok' as const },
  cross_cloud: { status: 'ok' as const },
  db_replication_lag: { status: 'ok' as const },
  eks_nodes: { status: 'ok' as const },
  aws_cross_region: { status: 'ok' as const },
};

test('default weights follow the seed: error at the top of each range, ok and unknown 0', () => {
  const config = defaultScoringConfig();
  const maxima = Object.fromEntries(Object.entries(config.signals).map(([k, w]) => [k, w.error]));
  assert.deepEqual(maxima, {
    internal_services: 5,
    external_uptime: 3,
    cross_cloud: 4,
    db_replication_lag: 3,
    eks_nodes: 4,
    aws_cross_region: 3,
  });
  for (const w of Object.values(config.signals)) {
    assert.equal(w.ok, 0);
    assert.equal(w.unknown, 0);
    assert.ok(w.degraded >= 1 && w.degraded <= 2);
  }
});

test('score is the sum of the weights and all-error reaches the DR level', () => {
  const config = defaultScoringConfig();
  assert.equal(scoreSnapshot(allOk, config).score, 0);
  const allError = Object.fromEntries(Object.keys(allOk).map((k) => [k, { status: 'error' as const }]));
  const result = scoreSnapshot(allError, config);
  assert.equal(result.score, 22);
  assert.equal(result.level, 'dr_failover');
  const mixed = scoreSnapshot(
    { ...allOk, internal_services: { status: 'error' }, eks_nodes: { status: 'degraded' } },
    config,
  );
  assert.equal(mixed.score, 7);
  assert.equal(mixed.level, 'self_heal');
});

test('levels: 0-3 none, 4-7 self_heal, 8-10 region_failover, 11+ dr_failover', () => {
  const { levels } = defaultScoringConfig();
  assert.deepEqual(
    [0, 3, 4, 7, 8, 10, 11, 22].map((s) => levelFor(s, levels)),
    [
      'none',
      'none',
      'self_heal',
      'self_heal',
      'region_failover',
      'region_failover',
      'dr_failover',
      'dr_failover',
    ],
  );
});

test('a signal the config does not know is ignored with a note, and a missing one counts as unknown', () => {
  const config = defaultScoringConfig();
  const result = scoreSnapshot(
    { ...allOk, dr_site: { status: 'error' }, mystery: { status: 'error' } },
    config,
  );
  assert.equal(result.score, 0);
  assert.ok(result.notes.some((n) => n.includes('mystery') && n.includes('ignored')));
  const missing = scoreSnapshot({ internal_services: { status: 'error' } }, config);
  assert.equal(missing.score, 5);
  assert.equal(missing.contributions.find((c) => c.signal === 'eks_nodes')?.status, 'unknown');
});

test('a bogus status from a probe is scored as unknown with a note, never a crash', () => {
  const config = defaultScoringConfig();
  const result = scoreSnapshot({ ...allOk, eks_nodes: { status: 'purple' as never } }, config);
  assert.equal(result.score, 0);
  assert.ok(result.notes.some((n) => n.includes('purple')));
});
