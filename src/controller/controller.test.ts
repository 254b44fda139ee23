import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type PhoenixConfig } from '../config/index.js';
import type { IncidentContext } from '../core/index.js';
import type { ContextSource } from '../core/ports.js';
import { createSignalSource, type ProbeSet } from '../signals/index.js';
import { HistoryStore, openDatabase, SqlDecisionStateStore } from '../store/index.js';
import { createAnalyzer, type AnalysisInput } from '../analysis/index.js';
import type { DecisionState } from '../decision/index.js';
import { Controller, type CycleRecord } from './index.js';
import { httpServer } from '../../test/helpers/servers.js';

let app: Awaited<ReturnType<typeof httpServer>>;
let healthy = true;
let delayMs = 0;
let onRequest: (() => void) | undefined;
before(async () => {
  app = await httpServer((_req, res) => {
    onRequest?.();
    setTimeout(() => {
      res.statusCode = healthy ? 200 : 503;
      res.end(healthy ? 'ok' : 'down');
    }, delayMs);
  });
});
after(() => app.close());

function setup(interval: number | string = 30): {
  config: PhoenixConfig;
  probes: ProbeSet;
  history: HistoryStore;
} {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-controller-'));
  const config = parseConfig({
    interval,
    decision: { analyzer: 'threshold' },
    store: { path: join(dir, 'phoenix.db') },
    probes: {
      timeout: '5s',
      signals: {
        internal_services: { type: 'http_checks', targets: [{ name: 'api', url: `${app.url}/health` }] },
        eks_nodes: { type: 'http', url: `${app.url}/nodes` },
        cross_cloud: { type: 'http', url: `${app.url}/dr` },
      },
    },
  });
  const history = new HistoryStore(openDatabase(config.store.path), config.store.retention_s);
  return { config, probes: createSignalSource(config), history };
}

test('the scheduled loop records every cycle and tells subscribers', async () => {
  healthy = true;
  delayMs = 0;
  const { config, probes, history } = setup(0.1);
  const controller = new Controller({ config, signals: probes, history });
  const seen: CycleRecord[] = [];
  const three = new Promise<void>((resolve) =>
    controller.on('cycle', (record) => {
      seen.push(record);
      if (seen.length === 3) resolve();
    }),
  );
  void controller.start();
  await three;
  await controller.stop();
  await probes.close();
  assert.ok((await history.count()).cycles >= 3);
  const stored = await history.cycles();
  assert.equal(stored[0].signals.internal_services.status, 'ok');
  assert.equal(stored[0].reason, 'schedule');
  assert.equal(stored[0].decision.action, 'none');
  assert.deepEqual(controller.latest()?.id, stored.at(-1)?.id);
  assert.ok(seen.every((r) => typeof r.id === 'number'));
  await history.db.close();
});

test('runCycleNow while a cycle runs: callers share the one cycle that follows', async () => {
  healthy = true;
  delayMs = 300;
  const { config, probes, history } = setup();
  const controller = new Controller({ config, signals: probes, history });
  const first = controller.runCycleNow('manual');
  const second = controller.runCycleNow('webhook: alertmanager');
  const third = controller.runCycleNow('webhook: pagerduty');
  assert.equal(second, third);
  const [a, b, c] = await Promise.all([first, second, third]);
  assert.notEqual(a.id, b.id);
  assert.equal(b.id, c.id);
  assert.equal(b.reason, 'webhook: alertmanager, webhook: pagerduty');
  assert.equal((await history.count()).cycles, 2);
  await controller.stop();
  await probes.close();
  await history.db.close();
});

test('stop() lets the cycle in flight finish and record, then runs no more', async () => {
  healthy = false;
  delayMs = 300;
  const { config, probes, history } = setup();
  const controller = new Controller({ config, signals: probes, history });
  const probing = new Promise<void>((resolve) => (onRequest = resolve));
  void controller.start();
  // Stop once the first cycle is probing (its answers take 300 ms).
  await probing;
  onRequest = undefined;
  await controller.stop();
  assert.equal((await history.count()).cycles, 1);
  assert.equal((await history.latest())?.signals.internal_services.status, 'error');
  await assert.rejects(controller.runCycleNow('late'), /stopped/);
  await probes.close();
  await history.db.close();
});

test('a cycle longer than the interval skips slots instead of piling up', async () => {
  healthy = true;
  delayMs = 350;
  const { config, probes } = setup(0.1);
  const controller = new Controller({ config, signals: probes });
  const two = new Promise<void>((resolve) => {
    let n = 0;
    controller.on('cycle', () => ++n === 2 && resolve());
  });
  void controller.start();
  await two;
  await controller.stop();
  await probes.close();
  assert.ok(controller.status().missed_intervals >= 2, JSON.stringify(controller.status()));
});

test('context is gathered only when the score calls for it, and the sink sees every decision', async () => {
  delayMs = 0;
  const { config, probes, history } = setup();
  const asked: number[] = [];
  const context: ContextSource = {
    async gather(now): Promise<IncidentContext> {
      asked.push(now);
      return { aws_health: { available: true, events: [] } };
    },
  };
  const decisions: string[] = [];
  let clock = 1_000_000;
  const controller = new Controller({
    config,
    signals: probes,
    history,
    context,
    clock: () => clock,
    sink: {
      async onDecision(decision, record) {
        decisions.push(`${decision.action}@${record.at}`);
        if (decisions.length === 1) throw new Error('runbook engine unavailable');
      },
    },
  });
  healthy = true;
  const quiet = await controller.runCycleNow('manual');
  assert.equal(asked.length, 0);
  assert.equal(quiet.context, undefined);
  healthy = false;
  clock += 30;
  const loud = await controller.runCycleNow('manual');
  assert.deepEqual(asked, [clock]);
  assert.equal(loud.score.level !== 'none', true);
  assert.deepEqual(loud.context, { aws_health: { available: true, events: [] } });
  // The first sink call threw; the controller logged it and kept going.
  assert.deepEqual(decisions, [`none@1000000`, `${loud.decision.action}@${clock}`]);
  assert.equal((await history.latest())?.at, clock);
  await controller.stop();
  await probes.close();
  await history.db.close();
});

/** A controller over the store file, as a freshly started process would build it. */
function restarted(config: PhoenixConfig, probes: ProbeSet, clock: () => number, seen?: AnalysisInput[][]) {
  const db = openDatabase(config.store.path);
  const threshold = createAnalyzer('threshold', config);
  const controller = new Controller({
    config,
    signals: probes,
    history: new HistoryStore(db),
    state: new SqlDecisionStateStore<DecisionState>(db),
    clock,
    analyzer: {
      name: threshold.name,
      gated: threshold.gated,
      wants: (level) => threshold.wants(level),
      analyze: (input) => {
        seen?.push([input]);
        return threshold.analyze(input);
      },
    },
  });
  return { controller, db };
}

test('a restart continues the analysis window where the stopped controller left it', async () => {
  delayMs = 0;
  healthy = false;
  const { config, probes } = setup();
  let clock = 2_000_000;
  const first = restarted(config, probes, () => clock);
  for (let i = 0; i < 3; i++, clock += 30) await first.controller.runCycleNow('manual');
  await first.controller.stop();
  first.db.close();

  const seen: AnalysisInput[][] = [];
  const second = restarted(config, probes, () => clock, seen);
  assert.equal(await second.controller.restoreState(), true);
  await second.controller.runCycleNow('manual');
  const history = seen[0][0].history;
  assert.deepEqual(
    history.map((h) => h.at),
    [2_000_000, 2_000_030, 2_000_060, 2_000_090],
    'the analyzer sees the cycles from before the restart',
  );
  await second.controller.stop();
  second.db.close();
  await probes.close();
});

test('a restart inside the cooldown does not decide a second failover', async () => {
  delayMs = 0;
  healthy = false;
  const { config, probes } = setup();
  assert.equal(config.decision.cooldown_s >= 3600, true);
  let clock = 3_000_000;
  const first = restarted(config, probes, () => clock);
  const failover = await first.controller.runCycleNow('manual');
  assert.equal(failover.decision.action, 'dr_failover', JSON.stringify(failover.decision));
  await first.controller.stop();
  first.db.close();

  clock += 51;
  const second = restarted(config, probes, () => clock);
  await second.controller.restoreState();
  const after51s = await second.controller.runCycleNow('manual');
  assert.equal(after51s.decision.action, 'none');
  assert.deepEqual(after51s.decision.blocked_by, ['cooldown']);
  await second.controller.stop();
  second.db.close();
  await probes.close();
});
