import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { ReadinessMonitor, readinessFailures, type ReadinessReport } from './monitor.js';

function world() {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-readiness-'));
  const binary = join(dir, 'terraform');
  writeFileSync(binary, '#!/bin/sh\nexit 0\n');
  chmodSync(binary, 0o755);
  const config = parseConfig({
    store: { path: join(dir, 'phoenix.db') },
    runbooks: {
      readiness_interval: '1s',
      dr_failover: {
        stages: [
          {
            name: 'infrastructure',
            steps: [{ name: 'apply', type: 'terraform', params: { dir, binary } }],
          },
        ],
      },
    },
  });
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    pretty: false,
    destination: new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    }),
  });
  return { dir, binary, config, lines, logger, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('readiness turns not ready when a runbook step loses its binary, with one warning line, and back', async () => {
  const w = world();
  const changes: Array<[boolean, boolean | undefined]> = [];
  const monitor = new ReadinessMonitor({
    config: w.config,
    logger: w.logger,
    onChange: (report, previous) => changes.push([report.ready, previous?.ready]),
  });
  try {
    assert.equal(monitor.interval_s, 1);
    assert.equal(monitor.latest(), undefined);
    const first = await monitor.check();
    assert.equal(first?.ready, true);
    assert.equal(first?.runbooks[0].steps[0].checks[0].ok, true);

    rmSync(w.binary);
    const broken = (await monitor.check())!;
    assert.equal(broken.ready, false);
    assert.equal(monitor.latest(), broken);
    const failing = broken.runbooks[0].steps[0].checks.find((c) => !c.ok)!;
    assert.equal(failing.check, `${w.binary} present`);
    assert.deepEqual(readinessFailures(broken), [
      `dr_failover infrastructure/apply ${w.binary} present: ${failing.detail}`,
    ]);
    // Still broken: no second warning.
    await monitor.check();
    const warnings = w.lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0].msg), /runbook readiness: NOT ready/);
    assert.deepEqual(warnings[0].runbooks, ['dr_failover']);

    writeFileSync(w.binary, '#!/bin/sh\nexit 0\n');
    chmodSync(w.binary, 0o755);
    assert.equal((await monitor.check())?.ready, true);
    assert.ok(w.lines.some((l) => l.msg === 'runbook readiness: ready again'));
    assert.deepEqual(changes, [
      [true, undefined],
      [false, true],
      [true, false],
    ]);
  } finally {
    await monitor.stop();
    w.cleanup();
  }
});

test('passes never overlap, and a pass that throws is logged and keeps the last result', async () => {
  const w = world();
  let calls = 0;
  let release: () => void = () => undefined;
  let fail = false;
  const monitor = new ReadinessMonitor({
    config: w.config,
    logger: w.logger,
    check: async () => {
      calls++;
      if (fail) throw new Error('disk on fire');
      await new Promise<void>((resolve) => (release = resolve));
      return [{ runbook: 'dr_failover', ok: true, problems: [], steps: [] }];
    },
  });
  try {
    const a = monitor.check();
    const b = monitor.check();
    assert.equal(a, b);
    release();
    const report = await a;
    assert.equal(calls, 1);
    fail = true;
    assert.equal(await monitor.check(), undefined);
    assert.equal(monitor.latest(), report);
    assert.ok(
      w.lines.some((l) => l.level === 50 && /failed to run; keeping the last result/.test(String(l.msg))),
    );
  } finally {
    await monitor.stop();
    w.cleanup();
  }
});

test('the schedule checks at start and again every interval until stopped', async () => {
  // The schedule's setTimeout is driven by the test's clock: each interval is a tick, and
  // after stop() a tick far ahead proves no pass is left scheduled, without waiting.
  mock.timers.enable({ apis: ['setTimeout'] });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const w = world();
  const seen: ReadinessReport[] = [];
  let clock = 1000;
  const monitor = new ReadinessMonitor({
    config: w.config,
    interval_s: 0.05,
    clock: () => clock++,
    check: async () => [{ runbook: 'dr_failover', ok: true, problems: [], steps: [] }],
  });
  const origCheck = monitor.check.bind(monitor);
  monitor.check = async () => {
    const report = await origCheck();
    if (report) seen.push(report);
    return report;
  };
  try {
    monitor.start();
    monitor.start(); // a second start does not add a second schedule
    await settle();
    for (let i = 0; i < 10 && seen.length < 3; i++) {
      mock.timers.tick(50);
      await settle();
    }
    assert.equal(seen.length, 3, 'one pass at start and one per interval');
    await monitor.stop();
    mock.timers.tick(60_000);
    await settle();
    assert.equal(seen.length, 3, 'nothing runs after stop');
    // Each pass is stamped with the clock, one after the other.
    assert.deepEqual(
      seen.map((r) => r.checked_at),
      seen.map((_, i) => 1000 + i),
    );
  } finally {
    mock.timers.reset();
    await monitor.stop();
    w.cleanup();
  }
});
