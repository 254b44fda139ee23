import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore, openDatabase, type CycleRecord } from './index.js';

function cycle(at: number, action: CycleRecord['decision']['action'] = 'none', score = 0): CycleRecord {
  const level = score >= 11 ? 'dr_failover' : score >= 4 ? 'self_heal' : 'none';
  return {
    at,
    reason: 'schedule',
    duration_ms: 12.5,
    signals: { internal_services: { status: score ? 'error' : 'ok', healthy: score ? 0 : 3, total: 3 } },
    score: {
      score,
      level,
      contributions: [{ signal: 'internal_services', status: 'ok', weight: score, max: 5 }],
      notes: [],
    },
    decision: {
      at,
      action,
      score,
      level,
      category: score ? 'internal_application' : 'unknown',
      confidence: 'high',
      reason: `reason at ${at}`,
      blocked_by: action === 'escalate' ? ['confirm_window'] : [],
      analysis: score
        ? {
            root_cause: 'bad deploy',
            root_cause_category: 'internal_application',
            confidence: 'high',
            recommended_action: 'self_heal',
            reasoning: 'deploy at t-2m',
            evidence: [],
            analyzer: 'evidence',
          }
        : undefined,
    },
  };
}

test('cycles and decisions survive reopening the file and read back as written', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'phoenix-history-')), 'phoenix.db');
  const store = new HistoryStore(openDatabase(path));
  store.record(cycle(100));
  const id = store.record(cycle(130, 'self_heal', 5));
  store.db.close();
  const reopened = new HistoryStore(openDatabase(path));
  const latest = reopened.latest()!;
  assert.equal(latest.id, id);
  assert.equal(latest.score.score, 5);
  assert.equal(latest.decision.action, 'self_heal');
  assert.equal(latest.decision.analysis?.root_cause, 'bad deploy');
  assert.deepEqual(latest.signals, cycle(130, 'self_heal', 5).signals);
  assert.deepEqual(
    reopened.decisions({ actionsOnly: true }).map((d) => d.action),
    ['self_heal'],
  );
  assert.deepEqual(
    reopened.decisions().map((d) => d.at),
    [130, 100],
  );
  assert.deepEqual(reopened.scores(), [
    { at: 100, score: 0, level: 'none' },
    { at: 130, score: 5, level: 'self_heal' },
  ]);
  reopened.db.close();
});

test('retention prunes old cycles together with their decisions', () => {
  const store = new HistoryStore(openDatabase(':memory:'), 100, 0);
  store.record(cycle(0, 'escalate', 12));
  store.record(cycle(50));
  store.record(cycle(160));
  // At 160 the cutoff is 60: the cycles at 0 and 50 are gone, and so are their decisions.
  assert.deepEqual(
    store.cycles().map((c) => c.at),
    [160],
  );
  assert.deepEqual(store.count(), { cycles: 1, decisions: 1 });
  assert.deepEqual(store.decisions({ actionsOnly: true }), []);
  store.db.close();
});
