import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThresholdAnalyzer, type AnalysisInput } from '../analysis/index.js';
import type { Analysis, SignalSnapshot, SignalSource } from '../core/index.js';
import { createServerDeps, startServer } from '../server/index.js';
import { HistoryStore, openDatabase } from '../store/index.js';
import { Controller } from './index.js';
import { READ_TOKEN, serverConfig, snapshot } from '../../test/server/harness.js';

/**
 * The real threshold rule, answering only when the test lets it, as a slow LLM second
 * opinion would: `entered` settles when it is asked, and it answers once `release` is called.
 */
class GatedAnalyzer extends ThresholdAnalyzer {
  private enter!: () => void;
  readonly entered = new Promise<void>((resolve) => (this.enter = resolve));
  release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  override async analyze(input: AnalysisInput): Promise<Analysis> {
    this.enter();
    await this.gate;
    return super.analyze(input);
  }
}

class SetSignals implements SignalSource {
  current: SignalSnapshot = snapshot();
  async collect(): Promise<SignalSnapshot> {
    return this.current;
  }
}

test('each cycle that ran the analyzer carries analysis_ms, and /metrics observes exactly those', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-analysis-ms-'));
  const config = serverConfig({}, { store: { path: join(dir, 'phoenix.db') }, interval: '1h' });
  const history = new HistoryStore(openDatabase(config.store.path));
  const signals = new SetSignals();
  const analyzer = new GatedAnalyzer();
  const controller = new Controller({ config, signals, history, analyzer });
  const server = await startServer({
    config,
    deps: createServerDeps({ controller, history, interval_s: config.interval_s }),
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    // Below the self-heal level the threshold rule is not consulted: nothing to time.
    const quiet = await controller.runCycleNow('schedule');
    assert.equal(quiet.analysis, undefined);
    assert.equal(quiet.analysis_ms, undefined);

    signals.current = snapshot({ eks_nodes: 'error', internal_services: 'error', cross_cloud: 'error' });
    const cycle = controller.runCycleNow('schedule');
    // Held while a real request goes round the server: analysis_ms must cover at least that.
    await analyzer.entered;
    const heldFrom = performance.now();
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const held = performance.now() - heldFrom;
    analyzer.release();
    const outage = await cycle;
    assert.equal(outage.score.level, 'dr_failover');
    assert.ok(outage.analysis);
    assert.ok(outage.analysis_ms! >= held - 0.5, `analysis_ms ${outage.analysis_ms} < held ${held}`);
    assert.ok(outage.analysis_ms! <= outage.duration_ms, `${outage.analysis_ms} > ${outage.duration_ms}`);

    const text = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })
    ).text();
    const sample = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      assert.ok(line, `no ${name} in /metrics`);
      return Number(line.split(' ')[1]);
    };
    assert.equal(sample('phoenix_analyzer_duration_seconds_count{analyzer="threshold"}'), 1);
    const sum = sample('phoenix_analyzer_duration_seconds_sum{analyzer="threshold"}');
    assert.ok(Math.abs(sum - outage.analysis_ms! / 1000) < 1e-9, `sum ${sum}`);
    assert.match(text, /^phoenix_cycles_total\{trigger="schedule"\} 2$/m);
  } finally {
    await server.close();
    await controller.stop();
    await history.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an analyzer consulted on quiet cycles (evidence) is timed on those too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-analysis-ms-'));
  const config = serverConfig({}, { store: { path: join(dir, 'phoenix.db') }, interval: '1h' });
  const controller = new Controller({ config, signals: new SetSignals() });
  const server = await startServer({
    config,
    deps: createServerDeps({ controller, interval_s: config.interval_s }),
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    const record = await controller.runCycleNow('schedule');
    assert.equal(record.score.level, 'none');
    assert.equal(record.analysis?.analyzer, 'evidence');
    assert.equal(typeof record.analysis_ms, 'number');
    assert.ok(record.analysis_ms! >= 0 && record.analysis_ms! <= record.duration_ms);
    const text = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })
    ).text();
    assert.match(text, /^phoenix_analyzer_duration_seconds_count\{analyzer="evidence"\} 1$/m);
  } finally {
    await server.close();
    await controller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
