import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ReadinessMonitor } from '../../src/runbook/index.js';
import { startServer } from '../../src/server/index.js';
import { freePort } from '../../src/lab/ports.js';
import { startPhoenix } from '../helpers/paths.js';
import { httpServer } from '../helpers/servers.js';
import { DecisionLoop, READ_TOKEN, serverConfig } from './harness.js';

const read = { authorization: `Bearer ${READ_TOKEN}` };

function terraformRunbook(dir: string, binary: string) {
  return {
    readiness_interval: '1h',
    dr_failover: {
      stages: [
        { name: 'infrastructure', steps: [{ name: 'apply', type: 'terraform', params: { dir, binary } }] },
      ],
    },
  };
}

test('a runbook step whose binary disappears turns readiness off in /api/status and /metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-rb-ready-'));
  const binary = join(dir, 'terraform');
  writeFileSync(binary, '#!/bin/sh\nexit 0\n');
  chmodSync(binary, 0o755);
  const config = serverConfig({}, { runbooks: terraformRunbook(dir, binary) });
  const loop = new DecisionLoop(config);
  await loop.cycle();
  const monitor = new ReadinessMonitor({ config, clock: loop.now });
  const server = await startServer({
    config,
    deps: { status: loop.recent, events: loop.recent, readiness: monitor, now: loop.now },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  const status = async () => await (await fetch(`${server.url}/api/status`, { headers: read })).json();
  const metrics = async () => (await fetch(`${server.url}/metrics`, { headers: read })).text();
  try {
    // Before the first pass: nothing is claimed either way.
    assert.equal((await status()).runbook_readiness, null);
    assert.doesNotMatch(await metrics(), /^phoenix_runbook_ready\{/m);

    await monitor.check();
    const ready = (await status()).runbook_readiness;
    assert.equal(ready.ready, true);
    assert.equal(ready.checked_at, loop.clock);
    assert.match(await metrics(), /^phoenix_runbook_ready\{runbook="dr_failover"\} 1$/m);

    rmSync(binary);
    await monitor.check();
    const broken = (await status()).runbook_readiness;
    assert.equal(broken.ready, false);
    assert.equal(broken.runbooks[0].runbook, 'dr_failover');
    const step = broken.runbooks[0].steps[0];
    assert.deepEqual(
      [step.stage, step.step, step.type, step.ok],
      ['infrastructure', 'apply', 'terraform', false],
    );
    assert.deepEqual(
      step.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { check: string }) => c.check),
      [`${binary} present`],
    );
    const text = await metrics();
    assert.match(text, /^phoenix_runbook_ready\{runbook="dr_failover"\} 0$/m);
    assert.ok(
      text.includes(
        `phoenix_runbook_check_failures{runbook="dr_failover",stage="infrastructure",step="apply",check="${binary} present"} 1`,
      ),
      text,
    );
    assert.match(text, /^phoenix_runbook_readiness_timestamp_seconds 1800000000$/m);
  } finally {
    await server.close();
    await monitor.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'phoenix run checks runbook readiness at start: a missing terraform binary is logged, served and notified',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-rb-ready-run-'));
    const port = await freePort();
    const missing = join(dir, 'no-such-dir', 'terraform');
    const notes: Array<Record<string, unknown>> = [];
    let noted: () => void = () => undefined;
    const firstNote = new Promise<void>((resolve) => (noted = resolve));
    const receiver = await httpServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += String(c)));
      req.on('end', () => {
        notes.push(JSON.parse(raw) as Record<string, unknown>);
        noted();
        res.end('{}');
      });
    });
    const config = join(dir, 'phoenix.yaml');
    writeFileSync(
      config,
      stringify({
        interval: '1h',
        store: { path: join(dir, 'phoenix.db') },
        server: { listen: `127.0.0.1:${port}`, anonymous: 'read' },
        runbooks: terraformRunbook(dir, missing),
        notifications: { channels: [{ channel: 'webhook', url: `${receiver.url}/oncall` }] },
      }),
    );
    const phoenix = startPhoenix(['run', '--config', config, '--log-format', 'json']);
    const base = `http://127.0.0.1:${port}`;
    try {
      type Report = { ready: boolean; runbooks: Array<{ steps: Array<{ ok: boolean }> }> };
      let found: Report | null = null;
      await phoenix.waitFor(async () => {
        const status = await fetch(`${base}/api/status`).catch(() => undefined);
        if (status?.status === 200) found = (await status.json()).runbook_readiness;
        return found !== null;
      }, 'runbook readiness');
      const report = found as Report | null;
      if (!report) throw new Error('no readiness report');
      assert.equal(report.ready, false);
      assert.equal(report.runbooks[0].steps[0].ok, false);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^phoenix_runbook_ready\{runbook="dr_failover"\} 0$/m);
      assert.ok(metrics.includes(`check="${missing} present"} 1`), metrics);
      await firstNote;
      assert.equal(notes.length, 1, phoenix.output());
      assert.equal(notes[0].stage, 'readiness');
      assert.equal(notes[0].step, 'not_ready');
      assert.match(String(notes[0].message), /runbooks are NOT ready.*terraform present/);

      assert.equal(await phoenix.stop(), 0, phoenix.output());
      const output = phoenix.output();
      const warning = output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; failures?: string[] })
        .find((l) => /runbook readiness: NOT ready/.test(l.msg));
      assert.ok(warning, output);
      assert.equal(warning.level, 40);
      assert.match(
        warning.failures![0],
        /^dr_failover infrastructure\/apply .*terraform present: .*not on PATH/,
      );
    } finally {
      await phoenix.stop();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
