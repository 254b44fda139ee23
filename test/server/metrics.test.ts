import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server/index.js';
import { DecisionLoop, READ_TOKEN, serverConfig, snapshot } from './harness.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/metrics exposes score, level, signals, decisions by action, analyzer latency and DR readiness', async () => {
  const config = serverConfig();
  const loop = new DecisionLoop(config);
  const server = await startServer({
    config,
    deps: { status: loop.recent, events: loop.recent, trigger: loop, now: loop.now },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    for (let i = 0; i < 3; i++, loop.clock += 30) await loop.cycle();
    loop.next = snapshot({ eks_nodes: 'error', internal_services: 'degraded', dr_site: 'ok' });
    await loop.cycle();
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
    const response = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const score = loop.recent.latest()!.score;
    assert.equal(sample(text, 'phoenix_score'), score.score);
    assert.equal(sample(text, 'phoenix_level'), 1); // self_heal
    assert.equal(sample(text, 'phoenix_level_info{level="self_heal"}'), 1);
    assert.equal(sample(text, 'phoenix_level_info{level="none"}'), 0);
    assert.equal(sample(text, 'phoenix_signal_weight{signal="eks_nodes"}'), 4);
    assert.equal(sample(text, 'phoenix_signal_weight_max{signal="eks_nodes"}'), 4);
    assert.equal(sample(text, 'phoenix_signal_status{signal="eks_nodes",status="error"}'), 1);
    assert.equal(sample(text, 'phoenix_signal_status{signal="eks_nodes",status="ok"}'), 0);
    assert.equal(sample(text, 'phoenix_decisions_total{action="none"}'), 3);
    assert.equal(sample(text, 'phoenix_decisions_total{action="self_heal"}'), 1);
    assert.equal(sample(text, 'phoenix_cycles_total{trigger="schedule"}'), 4);
    // The threshold analyzer runs only when the level is above none.
    assert.equal(sample(text, 'phoenix_analyzer_duration_seconds_count{analyzer="threshold"}'), 1);
    assert.equal(sample(text, 'phoenix_last_cycle_timestamp_seconds'), loop.clock);
    assert.equal(sample(text, 'phoenix_cycle_interval_seconds'), 30);
    assert.equal(sample(text, 'phoenix_dr_ready'), 1);
    loop.next = snapshot({ dr_site: 'error' });
    await loop.cycle();
    const after = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })
    ).text();
    assert.equal(sample(after, 'phoenix_dr_ready'), 0);
  } finally {
    await server.close();
  }
});
