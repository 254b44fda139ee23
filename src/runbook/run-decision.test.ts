import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/index.js';
import type { Decision } from '../core/index.js';
import { openDatabase } from '../store/index.js';
import { formatReport } from './report.js';
import { createRunbookDecisionSink } from './sink.js';

test('a run records the decision that started it (cycle, score, evidence) and its report shows it; an operator run shows its cooldown override', async () => {
  const config = parseConfig({
    store: { driver: 'sqlite', path: ':memory:' },
    decision: { cooldown: '1h' },
    runbooks: {
      self_heal: {
        stages: [{ name: 'go', steps: [{ name: 'restart', type: 'command', params: { command: 'true' } }] }],
      },
    },
  });
  const db = openDatabase(':memory:');
  const sink = createRunbookDecisionSink({
    db,
    config,
    autoApprove: true,
    workDir: mkdtempSync(join(tmpdir(), 'phoenix-rd-')),
  });
  const decision: Decision = {
    at: 1000,
    action: 'self_heal',
    score: 6,
    level: 'self_heal',
    category: 'internal_application',
    confidence: 'high',
    reason: 'pods crash after a deploy',
    blocked_by: [],
    analysis: {
      analyzer: 'evidence',
      category: 'internal_application',
      confidence: 'high',
      root_cause: 'release v2',
      recommended_action: 'self_heal',
      evidence: [
        { source: 'context:changes', item: 'deploy v2', weight: -3, says: 'a deploy went out just before' },
        { source: 'signal:dr_site', item: 'ok', weight: 0, says: 'DR is healthy' },
      ],
    } as unknown as Decision['analysis'],
  };
  const outcome = await sink.onDecision(decision, { id: 7 });
  assert.equal(outcome.kind, 'started');
  const report = await (
    outcome as { handle: { done: Promise<Awaited<ReturnType<typeof sink.engine.waitFor>>> } }
  ).handle.done;
  assert.equal(report.decision?.cycle_id, 7);
  assert.equal(report.decision?.score, 6);
  assert.deepEqual(
    report.decision?.evidence.map((e) => e.source),
    ['context:changes'],
    'only the evidence that moved the score',
  );
  assert.match(
    formatReport(report),
    /started by the decision of cycle 7 \(score 6, internal_application, high\): pods crash after a deploy/,
  );

  const manual = await (
    await sink.engine.start('self_heal', { trigger: 'cli', overrideCooldown: 'ann (cli): pods still crash' })
  ).done;
  assert.equal(manual.decision, null, 'an operator run was started by no decision');
  assert.equal(manual.cooldown_override, 'ann (cli): pods still crash');
  assert.match(formatReport(manual), /cooldown overridden: ann \(cli\): pods still crash/);
  db.close();
});
