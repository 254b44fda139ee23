import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/index.js';
import type { Decision } from '../core/index.js';
import { SiteStateStore } from '../lifecycle/index.js';
import { openDatabase } from '../store/index.js';
import { createRunbookDecisionSink } from './sink.js';

test('while automation is paused a decision starts no runbook (refused with the pause), and the pause expires by itself', async () => {
  const config = parseConfig({
    store: { driver: 'sqlite', path: ':memory:' },
    runbooks: {
      self_heal: {
        stages: [{ name: 'go', steps: [{ name: 'restart', type: 'command', params: { command: 'true' } }] }],
      },
    },
  });
  const db = openDatabase(':memory:');
  let now = 1000;
  const sites = new SiteStateStore(db);
  const sink = createRunbookDecisionSink({
    db,
    config,
    autoApprove: true,
    clock: () => now,
    workDir: mkdtempSync(join(tmpdir(), 'phoenix-pause-')),
    sites,
  });
  const decision = { action: 'self_heal', reason: 'pods crash' } as Decision;
  await sites.setPause(
    { at: now, until: now + 7200, by: 'operator:ann', reason: 'database maintenance' },
    { by: 'operator:ann', reason: 'database maintenance' },
    now,
  );
  const paused = await sink.onDecision(decision);
  assert.equal(paused.kind, 'refused');
  assert.match(
    (paused as { reason: string }).reason,
    /automation paused by operator:ann .*database maintenance/,
  );
  assert.equal((await sink.engine.journal.listRuns(10)).length, 0, 'no run was started');

  now += 7201;
  const after = await sink.onDecision(decision);
  assert.equal(after.kind, 'started', 'the pause expired by itself');
  await (after as { handle: { done: Promise<unknown> } }).handle.done;
  assert.deepEqual(
    (await sites.events()).map((e) => [e.event.type, e.caused_by]),
    [['paused', 'operator:ann']],
  );
  db.close();
});
