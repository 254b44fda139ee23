import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  FencedError,
  HistoryStore,
  leaseStoreOn,
  PostgresStore,
  SqlDecisionStateStore,
  type CycleRecord,
  type Fence,
  type SqlDb,
} from '../src/store/index.js';
import { Journal, RunBusyError, RunStateError, type NewRun } from '../src/runbook/journal.js';
import { StepProcesses } from '../src/runbook/processes.js';
import { ChangeStore } from '../src/context/changes.js';
import { DrillStore } from '../src/drills/store.js';
import { parseConfig } from '../src/config/index.js';
import { Notifier, NotificationStateStore } from '../src/notifications/index.js';
import { pagerDutyEventsServer } from '../src/stand-ins/pagerduty/events-api.js';
import { outageDecision as decision } from './helpers/decisions.js';
import { BACKENDS, PG_URL, cutShort, takeWhenExpired } from './helpers/stores.js';

/**
 * One contract, both stores: every module that keeps durable state (lease, decision state,
 * notification state, runbook journal, step processes, history, recorded changes, drills) behaves the same on
 * the embedded SQLite file and on the PostgreSQL this machine runs.
 */

/** The fence a controller holding `token` passes to the journal. */
function fenceOf(db: SqlDb, token: number): Fence {
  const lease = leaseStoreOn(db);
  return async () => {
    await lease.assertToken(token);
    return token;
  };
}

const SHAPE: Omit<NewRun, 'owner'> = {
  runbook: 'dr_failover',
  trigger: 'test',
  plan: { stages: [] },
  stages: [
    {
      name: 'one',
      steps: [
        { name: 'a', type: 'command' },
        { name: 'b', type: 'command' },
      ],
    },
  ],
};

function cycle(at: number, score = 0): CycleRecord {
  const level = score >= 11 ? 'dr_failover' : score >= 4 ? 'self_heal' : 'none';
  return {
    at,
    reason: 'schedule',
    duration_ms: 12.5,
    signals: { internal_services: { status: score ? 'error' : 'ok', healthy: score ? 0 : 3, total: 3 } },
    score: { score, level, contributions: [], notes: [] },
    decision: {
      at,
      action: score ? 'self_heal' : 'none',
      score,
      level,
      category: score ? 'internal_application' : 'unknown',
      confidence: 'high',
      reason: `reason at ${at}`,
      blocked_by: [],
    },
  };
}

for (const backend of BACKENDS) {
  const name = backend.name;

  test(`${name}: one lease holder at a time, and the fencing token grows on every change of hands`, async () => {
    const { db, close } = await backend.open();
    try {
      const lease = leaseStoreOn(db);
      const a = await lease.acquire('host:1:a', 30);
      assert.equal(a.acquired, true);
      const b = await lease.acquire('host:2:b', 30);
      assert.equal(b.acquired, false, 'a live lease is not taken');
      assert.equal(b.lease.holder, 'host:1:a');
      const again = await lease.acquire('host:1:a', 30);
      assert.equal(again.lease.token, a.lease.token, 'the holder renews with the same token');
      assert.equal(await lease.renew('host:1:a', a.lease.token, 0.2), true);
      const taken = await takeWhenExpired(lease, 'host:2:b', 30);
      assert.equal(taken.token, a.lease.token + 1);
      assert.equal(await lease.renew('host:1:a', a.lease.token, 30), false, 'the old holder cannot renew');
      await lease.release('host:2:b', taken.token);
      const back = await lease.acquire('host:1:a', 30);
      assert.equal(back.acquired, true, 'a released lease is free at once');
      assert.equal(back.lease.token, taken.token + 1);
    } finally {
      await close();
    }
  });

  test(`${name}: decision state written with an older fencing token is refused`, async () => {
    const { db, close } = await backend.open();
    try {
      const lease = leaseStoreOn(db);
      const state = new SqlDecisionStateStore<{ n: number }>(db);
      const a = await lease.acquire('host:1:a', 60);
      await state.save({ n: 1 }, 100, a.lease.token);
      await cutShort(lease, 'host:1:a');
      const b = await takeWhenExpired(lease, 'host:2:b', 30);
      await state.save({ n: 2 }, 101, b.token);
      await assert.rejects(state.save({ n: 3 }, 102, a.lease.token), FencedError);
      assert.deepEqual(await state.load(), { state: { n: 2 }, at: 101, token: b.token });
    } finally {
      await close();
    }
  });

  test(`${name}: the journal keeps one active run, records attempts, approvals and aborts`, async () => {
    const { db, close } = await backend.open();
    try {
      const journal = new Journal(db);
      // Owner pid 1 is alive on this host (init), so the first run counts as live.
      const run = await journal.createRun({ ...SHAPE, owner: { host: hostname(), pid: 1, token: 'a' } });
      await assert.rejects(
        journal.createRun({
          ...SHAPE,
          runbook: 'self_heal',
          owner: { host: 'elsewhere', pid: 2, token: 'b' },
        }),
        (error: unknown) => error instanceof RunBusyError && error.activeRunId === run.id,
      );
      const first = await journal.attemptStarted(run.id, 'a');
      assert.deepEqual(first, { attempt: 1, resumed: false, failed: 0 });
      const second = await journal.attemptStarted(run.id, 'a');
      assert.deepEqual(
        second,
        { attempt: 2, resumed: true, failed: 0 },
        'a running attempt left behind was interrupted',
      );
      await journal.attemptFinished(run.id, 'a', 2, 'failed', { error: 'boom' });
      assert.equal(await journal.failedAttempts(run.id, 'a'), 1);
      await journal.stepFinished(run.id, 'a', 'succeeded', { summary: 'ok', output: { x: 1 }, dnsTtlS: 30 });
      assert.deepEqual(
        (await journal.attempts(run.id)).map((r) => [r.step, r.attempt, r.outcome]),
        [
          ['a', 1, 'interrupted'],
          ['a', 2, 'failed'],
        ],
      );
      const step = await journal.step(run.id, 'a');
      assert.equal(step.status, 'succeeded');
      assert.equal(step.dns_ttl_s, 30);
      await journal.requestApproval(run.id, 'stage:one');
      await journal.requestApproval(run.id, 'stage:one');
      assert.deepEqual(await journal.approve(run.id, 'alice'), ['stage:one']);
      await assert.rejects(journal.approve(run.id, 'bob'), RunStateError);
      const requested = await journal.requestAbort(run.id, 'carol');
      assert.equal(requested.ended, false, 'a live owner ends its run itself');
      assert.equal((await journal.heartbeat(run.id, 'a')).abortedBy, 'carol');
      await journal.finishRun(run.id, 'a', 'aborted', 'aborted by carol', {});
      const gone = await journal.createRun({ ...SHAPE, owner: { host: 'elsewhere', pid: 2, token: 'b' } });
      // Its owner on another host never beat its heartbeat within staleAfterS: ended here and then.
      const stale = new Journal(db, () => Date.now() / 1000 + 3600);
      assert.equal((await stale.requestAbort(gone.id, 'dave')).ended, true);
      const aborted = await journal.requireRun(gone.id);
      assert.equal(aborted.status, 'aborted');
      assert.equal(aborted.active, null);
      assert.equal((await journal.step(gone.id, 'b')).status, 'skipped');
      const next = await journal.createRun({ ...SHAPE, owner: { host: 'elsewhere', pid: 2, token: 'c' } });
      assert.deepEqual(
        (await journal.listRuns()).map((r) => r.id),
        [next.id, gone.id, run.id],
      );
      assert.equal((await journal.lastRun('dr_failover'))?.id, next.id);
    } finally {
      await close();
    }
  });

  test(`${name}: the journal refuses every write and step start from an older fencing token, in the write's own transaction`, async () => {
    const { db, close } = await backend.open();
    try {
      const lease = leaseStoreOn(db);
      // A lease long enough for the run to be created however loaded the machine is, then cut short
      // (a renewal by the same holder keeps the token) so that the next leader can take it.
      const a = await lease.acquire('host:1:a', 60);
      const old = new Journal(db, undefined, 60, fenceOf(db, a.lease.token));
      const oldSteps = new StepProcesses(db, () => Date.now() / 1000, fenceOf(db, a.lease.token));
      const run = await old.createRun({
        ...SHAPE,
        owner: { host: hostname(), pid: process.pid, token: 'old' },
      });
      assert.equal(run.fencing_token, a.lease.token);
      await cutShort(lease, 'host:1:a');
      const b = await takeWhenExpired(lease, 'host:2:b', 30);
      await assert.rejects(old.attemptStarted(run.id, 'a'), FencedError);
      await assert.rejects(old.stepFinished(run.id, 'a', 'succeeded', {}), FencedError);
      await assert.rejects(old.finishRun(run.id, 'old', 'succeeded', null, {}), FencedError);
      await assert.rejects(oldSteps.tracker(run.id, 'a', 1).started(4242) as Promise<void>, FencedError);
      assert.equal((await old.attempts(run.id)).length, 0, 'no attempt of the fenced-out leader was written');
      assert.equal((await old.step(run.id, 'a')).status, 'pending');
      assert.equal((await oldSteps.list(run.id)).length, 0);
      // The new leader takes the run over: superseded by its newer token although the owner lives.
      const current = new Journal(db, undefined, 60, fenceOf(db, b.token));
      const claimed = await current.claimRun(run.id, { host: hostname(), pid: process.pid, token: 'new' });
      assert.equal(claimed.fencing_token, b.token);
      assert.deepEqual(await current.attemptStarted(run.id, 'a'), { attempt: 1, resumed: false, failed: 0 });
      old.release('old');
      current.release('new');
    } finally {
      await close();
    }
  });

  test(`${name}: a step's resume state is kept in the store for the next leader, and a deposed leader cannot overwrite it`, async () => {
    const { db, reopen, close } = await backend.open();
    try {
      const lease = leaseStoreOn(db);
      const a = await lease.acquire('host:1:a', 60);
      const old = new Journal(db, undefined, 60, fenceOf(db, a.lease.token));
      const run = await old.createRun({ ...SHAPE, owner: { host: 'host-a', pid: 1, token: 'old' } });
      assert.equal(await old.stepState(run.id, 'a'), undefined, 'nothing saved yet');
      await old.saveStepState(run.id, 'a', { disabled: true });
      await old.saveStepState(run.id, 'a', { disabled: true, sequences: [{ sequence: 's', value: '1050' }] });
      await old.saveStepState(run.id, 'b', { other: 1 });
      await cutShort(lease, 'host:1:a');
      // The next leader, on another host: its own connection to the store.
      const other = await reopen();
      try {
        const b = await takeWhenExpired(leaseStoreOn(other), 'host:2:b', 30);
        const current = new Journal(other, undefined, 60, fenceOf(other, b.token));
        assert.deepEqual(await current.stepState(run.id, 'a'), {
          disabled: true,
          sequences: [{ sequence: 's', value: '1050' }],
        });
        await assert.rejects(old.saveStepState(run.id, 'a', { disabled: false }), FencedError);
        assert.deepEqual(await current.stepState(run.id, 'b'), { other: 1 });
        await current.saveStepState(run.id, 'a', { opened_at: 'now' });
        assert.deepEqual(await current.stepState(run.id, 'a'), { opened_at: 'now' });
      } finally {
        await other.close();
      }
    } finally {
      await close();
    }
  });

  test(`${name}: step process groups are journaled as they start and end`, async () => {
    const { db, close } = await backend.open();
    try {
      const journal = new Journal(db);
      const run = await journal.createRun({ ...SHAPE, owner: { host: 'elsewhere', pid: 2, token: 't' } });
      const processes = new StepProcesses(db, () => 1000);
      const tracker = processes.tracker(run.id, 'a', 1);
      await tracker.started(111);
      await tracker.started(222);
      await tracker.ended(111);
      assert.deepEqual(
        (await processes.unfinished(run.id, 'a')).map((g) => [g.pgid, g.host]),
        [[222, hostname()]],
      );
      assert.equal((await processes.list(run.id)).length, 2);
    } finally {
      await close();
    }
  });

  test(`${name}: history keeps cycles and decisions, newest last, across a reopen, and prunes with its retention`, async () => {
    const { db, reopen, close } = await backend.open();
    try {
      const history = new HistoryStore(db, 100, 0);
      const first = await history.record(cycle(10));
      const second = await history.record(cycle(40, 6));
      assert.ok(second > first);
      const again = await reopen();
      const latest = (await new HistoryStore(again).latest())!;
      await again.close();
      assert.equal(latest.id, second);
      assert.equal(latest.decision.action, 'self_heal');
      assert.deepEqual(latest.signals, cycle(40, 6).signals);
      assert.deepEqual(
        (await history.cycles({ since: 0 })).map((c) => c.at),
        [10, 40],
      );
      assert.deepEqual(
        (await history.decisions({ actionsOnly: true })).map((d) => d.at),
        [40],
      );
      assert.deepEqual(await history.scores(), [
        { at: 10, score: 0, level: 'none' },
        { at: 40, score: 6, level: 'self_heal' },
      ]);
      await history.record(cycle(130));
      assert.deepEqual(
        await history.count(),
        { cycles: 2, decisions: 2 },
        'the cycle at 10 and its decision went',
      );
      assert.equal((await history.cycle(second))?.at, 40);
    } finally {
      await close();
    }
  });

  test(`${name}: recorded changes and drill slots`, async () => {
    const { db, close } = await backend.open();
    try {
      const changes = ChangeStore.on(db);
      const a = await changes.record({ at: 100, kind: 'deploy', service: 'api', description: 'v2' });
      await changes.record({ at: 300, kind: 'config', description: 'flag' });
      assert.deepEqual(await changes.between(50, 200), [
        { id: a.id, at: 100, kind: 'deploy', service: 'api', description: 'v2', source: 'cli' },
      ]);
      await assert.rejects(changes.record({ at: 1, kind: 'nope' as 'deploy', description: 'x' }), /unknown/);
      const drills = new DrillStore(db);
      const claimed = await drills.claim('dr_failover', 'readiness', 1000, 1000);
      assert.ok(claimed);
      assert.equal(await drills.claim('dr_failover', 'readiness', 1000, 1001), undefined, 'a slot runs once');
      await drills.finish(claimed.id, { status: 'succeeded', rto_s: 42 }, 1010);
      assert.deepEqual(await drills.lastSuccess(), { at: 1010, rto_s: 42, rto_partial: false });
      assert.equal((await drills.list()).length, 1);
    } finally {
      await close();
    }
  });
}

for (const backend of BACKENDS) {
  test(`${backend.name}: the next leader resolves the PagerDuty incident and approval its predecessor opened, with the same dedup keys, and pages nothing twice`, async () => {
    const { db, reopen, close } = await backend.open();
    const second = await reopen();
    const pd = await pagerDutyEventsServer();
    try {
      const settings = parseConfig(
        {
          notifications: {
            channels: [{ channel: 'pagerduty', routing_key: '${PD_KEY}', url: pd.url }],
            repeat_after: '30m',
          },
        },
        'test.yaml',
        { PD_KEY: 'R0UT1NGKEY0123456789ABCDEFGHIJKL' },
      ).raw.notifications!;
      let now = 1_800_000_000;
      const clock = () => now;
      const a = await leaseStoreOn(db).acquire('host:1:a', 60);
      const first = new Notifier({
        settings,
        clock,
        state: new NotificationStateStore(db),
        leader: { currentToken: () => a.lease.token },
      });
      first.onDecision(decision('dr_failover', now));
      first.onRunEvent({ type: 'approval', runId: 'run-7', gate: 'stage promote', status: 'waiting' });
      await first.flush();
      const incident = `cloudphoenix-incident-${now}`;
      const approval = 'cloudphoenix-approval-run-7-stage-promote';
      assert.deepEqual([...pd.alerts.keys()].sort(), [approval, incident]);

      // The leader stops renewing (killed, paused); a controller with its own connection takes over.
      await cutShort(leaseStoreOn(db), 'host:1:a');
      const b = await takeWhenExpired(leaseStoreOn(second), 'host:2:b', 30);
      const next = new Notifier({
        settings,
        clock,
        state: new NotificationStateStore(second),
        leader: { currentToken: () => b.token },
      });
      await next.restore();
      now += 60;
      // The same incident, still inside repeat_after: the new leader does not page again.
      next.onDecision(decision('dr_failover', now));
      // The ex-leader wakes and tries to page: the store refuses its write, so nothing is sent.
      first.onDecision(decision('escalate', now));
      await Promise.all([next.flush(), first.flush()]);
      assert.deepEqual(pd.alerts.get(incident)?.events, ['trigger'], 'paged once for the incident');

      next.onRunEvent({ type: 'run', runId: 'run-7', runbook: 'dr_failover', status: 'succeeded' });
      now += 60;
      next.onDecision(decision('none', now));
      await next.flush();
      assert.deepEqual(pd.alerts.get(incident)?.events, ['trigger', 'resolve'], 'resolved with the same key');
      assert.deepEqual(pd.alerts.get(approval)?.events, ['trigger', 'resolve']);
      assert.deepEqual(pd.rejected, [], 'every event passed the Events v2 rules');
      assert.deepEqual((await new NotificationStateStore(second).load())?.state, { approvals: {} });
    } finally {
      await pd.close();
      await second.close();
      await close();
    }
  });
}

// PostgreSQL aborts a whole transaction at its first failed statement and then answers COMMIT with
// ROLLBACK, not an error; a caller that caught the failure (an "already there" it expected) would be told
// the transaction succeeded while none of it was kept. SQLite undoes only the failed statement.
for (const backend of BACKENDS) {
  test(`${backend.name}: a transaction that answers success kept what it wrote, even when a statement in it failed and was caught`, async () => {
    const { db, close } = await backend.open();
    try {
      await db.run('CREATE TABLE contract_acks (id INTEGER PRIMARY KEY)');
      const outcome = await db
        .transaction(async () => {
          await db.run('INSERT INTO contract_acks (id) VALUES (1)');
          await db.run('INSERT INTO contract_acks (id) VALUES (1)').catch(() => undefined);
          return 'acknowledged';
        })
        .catch((error: Error) => error);
      const kept = await db.all<{ id: number }>('SELECT id FROM contract_acks');
      if (outcome === 'acknowledged') assert.equal(kept.length, 1, 'acknowledged, yet the row is not there');
      else {
        assert.equal(kept.length, 0);
        assert.match(String(outcome), /rolled back|not committed/);
      }
    } finally {
      await close();
    }
  });
}

test('postgres: controllers migrating one schema at once apply each migration once', async () => {
  const schema = `phoenix_test_${randomBytes(6).toString('hex')}`;
  const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(PG_URL, schema)));
  try {
    await Promise.all(stores.map((s) => new Journal(s).listRuns()));
    const rows = await stores[0].all<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    assert.deepEqual(
      rows.map((r) => r.name),
      [
        'lease/1',
        'runbook/1-journal',
        'runbook/4-drill-cleanups',
        'runbook/5-decision',
        'runbook/6-step-state',
      ],
    );
  } finally {
    await stores[0].dropSchema();
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('postgres: an unreachable server is reported with the fix', async () => {
  await assert.rejects(
    PostgresStore.open('postgres://postgres:secret@127.0.0.1:1/postgres', 'x'),
    (error: Error) => /cannot open the PostgreSQL store .*\*\*\*.*check store\.url/.test(error.message),
  );
});
