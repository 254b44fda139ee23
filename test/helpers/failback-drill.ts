import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processesUsing } from '../../src/lab/index.js';
import type { DrillReport } from '../../src/lab/drill.js';
import { runCli } from './paths.js';

/**
 * The lab's failback drill on one PostgreSQL pair (primary major, DR major), as a test. Each pair lives in
 * its own test file: a drill takes 2-4 minutes on a loaded machine, and Node's --test-timeout bounds a
 * whole file. scripts/postgres-matrix.mjs runs every pair.
 */
export function failbackDrillTest(primary: number, dr: number): void {
  const root = mkdtempSync(join(tmpdir(), `phoenix-failback-drill-${primary}-${dr}-`));
  const dir = join(root, 'lab');
  after(async () => {
    await runCli(['lab', 'down', '--dir', dir]);
    rmSync(root, { recursive: true, force: true });
  });

  test(`failback drill, PostgreSQL ${primary} → ${dr}: outage, failover, the primary site back, reprotect, failback: nothing DR acknowledged is lost, the write pause is measured, and objects replicate forward again`, async () => {
    const result = await runCli(
      [
        'drill',
        '--lab',
        '--scenario',
        'failback',
        '--postgres',
        String(primary),
        '--dr-postgres',
        String(dr),
        '--interval',
        '3',
        '--dir',
        dir,
        '--json',
      ],
      { timeoutMs: 280_000 },
    );
    assert.equal(result.code, 0, result.stderr.slice(-4000));
    const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as DrillReport;
    assert.equal(report.scenario, 'failback');
    assert.equal(report.replication, 'logical');
    // The servers' own versions, as they report them.
    assert.match(report.postgres_versions.primary ?? '', new RegExp(`^${primary}\\.`));
    assert.match(report.postgres_versions.dr ?? '', new RegExp(`^${dr}\\.`));
    assert.equal(report.decision, 'dr_failover');
    assert.ok(report.writes.acknowledged_dr > 0, JSON.stringify(report.writes));
    assert.equal(report.failback_rows_lost, 0, result.stderr.slice(-3000));
    assert.equal(report.failback_objects_lost, 0, result.stderr.slice(-3000));
    assert.ok(typeof report.reprotect_s === 'number' && report.reprotect_s > 0, String(report.reprotect_s));
    // The pause is measured here and held to its 10 s target by the benchmark (README, "The way back"),
    // not by this test: a loaded CI machine stretches it without anything being wrong.
    assert.ok(
      typeof report.failback_rto_s === 'number' && report.failback_rto_s > 0,
      `failback write unavailability ${report.failback_rto_s} s: ${result.stderr.slice(-3000)}`,
    );
    assert.match(result.stderr, /way back: runbook reprotect[\s\S]*way back: runbook failback/);
    // Where the pause went: each failback step timed, and the clients' DNS lag behind BIND, with the switch
    // put at a random point of the caching resolver's period (TTL 5 s + its last second).
    assert.deepEqual(Object.keys(report.failback_steps ?? {}).sort(), [
      'dr-subscribes-again',
      'fence-dr-db',
      'last-objects-back',
      'objects-back-before-pause',
      'open-primary',
      'point-app-at-primary',
      'primary-serves-writes',
    ]);
    const lag = report.failback_client_dns_lag_s;
    assert.ok(typeof lag === 'number' && lag >= 0, `client DNS lag ${lag}`);
    const wait = report.failback_cache_phase_wait_s;
    assert.ok(typeof wait === 'number' && wait >= 0 && wait < 6, `phase wait ${wait}`);
    // The site state went the whole way, each step journaled with the run (or the controller) that caused
    // it; the old primary was fenced by the controller's own fence run when it came back, not by hand.
    const transitions = report.site_transitions ?? [];
    const journal = JSON.stringify(transitions, null, 1);
    assert.equal(report.active_site, 'primary', journal);
    assert.deepEqual(
      report.site_states,
      [
        'primary_active',
        'failing_over',
        'dr_active',
        'reprotecting',
        'reverse_protected',
        'failing_back',
        'primary_active',
      ],
      journal,
    );
    assert.ok(
      transitions.every((t) => /^runbook:run-/.test(t.by) && t.reason.length > 0),
      journal,
    );
    assert.ok(
      transitions.some((t) => /fence_pending/.test(t.from) && /fenced/.test(t.to)),
      `the controller fenced the returning old primary: ${journal}`,
    );
    // The controller kept deciding for DR while it served (reported: the failback's fence of DR may
    // make DR's own probes fail while the switchover runs).
    assert.ok(
      (report.decisions_while_dr_served?.none ?? 0) > 0,
      JSON.stringify(report.decisions_while_dr_served),
    );
    // Protected forward again: object replication S3 → Blob resumed, and a new primary object reached Blob.
    assert.ok(typeof report.forward_objects_s === 'number', String(report.forward_objects_s));
    assert.deepEqual(processesUsing(dir), []);
  });
}
