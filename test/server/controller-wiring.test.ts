import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThresholdAnalyzer } from '../../src/analysis/index.js';
import { ChangeStore } from '../../src/context/index.js';
import { Controller } from '../../src/controller/index.js';
import type { SignalSnapshot, SignalSource } from '../../src/core/index.js';
import { createServerDeps, signedHeaders, startServer } from '../../src/server/index.js';
import { HistoryStore, openDatabase } from '../../src/store/index.js';
import {
  OPERATE_TOKEN,
  READ_TOKEN,
  WEBHOOK_SECRET,
  serverConfig,
  snapshot,
  firingAlertBody,
} from './harness.js';

/** Signals the test sets, standing where the probes stand. */
class SetSignals implements SignalSource {
  current: SignalSnapshot = snapshot();
  async collect(): Promise<SignalSnapshot> {
    return this.current;
  }
}

test('the server over the real controller, SQLite history, runbook journal and change log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-wiring-'));
  const config = serverConfig(
    { webhook: { secret: '${PHX_TEST_SECRET}' } },
    { store: { path: join(dir, 'phoenix.db') }, interval: '1h' },
  );
  const db = openDatabase(config.store.path);
  const history = new HistoryStore(db);
  const changes = ChangeStore.on(db);
  const signals = new SetSignals();
  const controller = new Controller({ config, signals, history, analyzer: new ThresholdAnalyzer() });
  const server = await startServer({
    config,
    deps: createServerDeps({ controller, history, changes, interval_s: config.interval_s }),
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  const read = { authorization: `Bearer ${READ_TOKEN}` };
  try {
    await controller.runCycleNow('schedule');
    signals.current = snapshot({ eks_nodes: 'error', internal_services: 'error' });

    // An alert starts a cycle out of schedule; its result lands in the SQLite history.
    const body = firingAlertBody('NodesNotReady', 'abc');
    const cycled = new Promise((resolve) => controller.on('cycle', resolve));
    const hook = await fetch(`${server.url}/api/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedHeaders(WEBHOOK_SECRET, body) },
      body,
    });
    assert.equal(hook.status, 202);
    await cycled;
    const stored = await history.cycles({ since: 0 });
    assert.equal(stored.length, 2);
    assert.match(stored[1].reason, /alertmanager: NodesNotReady firing/);

    const points = (await (await fetch(`${server.url}/api/history?since=1h`, { headers: read })).json())
      .points;
    assert.deepEqual(
      points.map((p: { score: number }) => p.score),
      [0, 9],
    );
    const decisions = (await (await fetch(`${server.url}/api/decisions`, { headers: read })).json())
      .decisions;
    assert.equal(decisions[0].level, 'region_failover');
    const status = await (await fetch(`${server.url}/api/status`, { headers: read })).json();
    assert.equal(status.latest.score, 9);
    assert.equal(status.latest.reason.startsWith('alertmanager'), true);

    const change = await fetch(`${server.url}/api/changes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'deploy',
        service: 'checkout',
        description: 'release 4.2',
        at: 1_900_000_000,
      }),
    });
    assert.equal(change.status, 201);
    const recorded = await changes.between(1_899_999_999, 1_900_000_001);
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0].source, 'api');
    assert.equal(recorded[0].description, 'release 4.2');
    const badChange = await fetch(`${server.url}/api/changes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'rollout', description: '' }),
    });
    assert.equal(badChange.status, 400);
    assert.match((await badChange.json()).error, /kind: .*deploy/);

    const runs = await (await fetch(`${server.url}/api/runs`, { headers: read })).json();
    assert.deepEqual(runs.runs, []);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: read })).text();
    assert.match(metrics, /^phoenix_score 9$/m);
    assert.match(metrics, /^phoenix_cycles_total\{trigger="alertmanager"\} 1$/m);
    assert.match(metrics, /^phoenix_cycle_duration_seconds_count 2$/m);
  } finally {
    await server.close();
    await controller.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
