import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/index.js';
import { pagerDutyEventsServer } from '../stand-ins/pagerduty/events-api.js';
import { outageDecision as decision } from '../../test/helpers/decisions.js';
import { Notifier, type NotifierOptions } from './index.js';

let pd: Awaited<ReturnType<typeof pagerDutyEventsServer>>;
before(async () => {
  pd = await pagerDutyEventsServer();
});
after(() => pd.close());

function notifier(options: Partial<NotifierOptions> = {}): Notifier {
  const config = parseConfig(
    { notifications: { channels: [{ channel: 'pagerduty', routing_key: '${PD_KEY}', url: pd.url }] } },
    'test.yaml',
    { PD_KEY: 'R0UT1NGKEY0123456789ABCDEFGHIJKL' },
  );
  let now = 1_000;
  return new Notifier({ settings: config.raw.notifications!, clock: () => (now += 10), ...options });
}

test('PagerDuty: incident, approval and run each open their own alert, and each is resolved when it clears', async () => {
  pd.alerts.clear();
  const n = notifier();
  n.onDecision(decision('escalate', 5_000));
  n.onRunEvent({ type: 'approval', runId: 'run-7', gate: 'stage promote', status: 'waiting' });
  await n.flush();
  assert.deepEqual(
    [...pd.alerts].map(([key, a]) => [key, a.status, a.severity]),
    [
      ['cloudphoenix-incident-5000', 'triggered', 'critical'],
      ['cloudphoenix-approval-run-7-stage-promote', 'triggered', 'critical'],
    ],
  );

  n.onRunEvent({ type: 'approval', runId: 'run-7', gate: 'stage promote', status: 'approved', by: 'ana' });
  n.onRunEvent({ type: 'run', runId: 'run-7', runbook: 'dr_failover', status: 'succeeded' });
  await n.flush();
  assert.equal(pd.alerts.get('cloudphoenix-approval-run-7-stage-promote')?.status, 'resolved');
  assert.equal(pd.alerts.has('cloudphoenix-run-run-7'), false, 'a successful run opens no alert');
  assert.equal(
    pd.alerts.get('cloudphoenix-incident-5000')?.status,
    'triggered',
    'the incident is still open',
  );

  n.onDecision(decision('none', 5_600));
  await n.flush();
  assert.deepEqual(pd.alerts.get('cloudphoenix-incident-5000')?.events, ['trigger', 'resolve']);
  assert.deepEqual(pd.rejected, [], 'every event passed the Events v2 rules');

  n.onDecision(decision('none', 5_700));
  n.onDecision(decision('dr_failover', 6_000));
  await n.flush();
  assert.equal(pd.alerts.get('cloudphoenix-incident-5000')?.events.length, 2, 'resolved once');
  assert.equal(pd.alerts.get('cloudphoenix-incident-6000')?.status, 'triggered', 'a new incident, a new key');
});

test('PagerDuty: a failed run is a critical alert of its own; an aborted run waiting for approval closes the approval', async () => {
  pd.alerts.clear();
  const n = notifier();
  n.onRunEvent({ type: 'approval', runId: 'run-8', gate: 'stage dns', status: 'waiting' });
  n.onRunEvent({ type: 'run', runId: 'run-8', runbook: 'dr_failover', status: 'aborted' });
  n.onRunEvent({
    type: 'run',
    runId: 'run-9',
    runbook: 'dr_failover',
    status: 'failed',
    error: 'verify: HTTP 503',
  });
  await n.flush();
  assert.equal(pd.alerts.get('cloudphoenix-approval-run-8-stage-dns')?.status, 'resolved');
  assert.equal(pd.alerts.get('cloudphoenix-run-run-8')?.severity, 'warning');
  assert.equal(pd.alerts.get('cloudphoenix-run-run-9')?.severity, 'critical');
  assert.match(pd.alerts.get('cloudphoenix-run-run-9')!.summary, /failed: verify: HTTP 503/);
  assert.deepEqual(pd.rejected, []);
});

test('PagerDuty: only the leader pages; a follower sends nothing, once elected it pages, and the cooldown after a failover resolves nothing', async () => {
  pd.alerts.clear();
  const held: { token?: number } = {};
  const n = notifier({ leader: { currentToken: () => held.token } });
  n.onDecision(decision('dr_failover', 7_000));
  n.onRunEvent({ type: 'approval', runId: 'run-10', gate: 'stage dns', status: 'waiting' });
  await n.flush();
  assert.equal(pd.alerts.size, 0, 'the follower paged');
  held.token = 4;
  n.onDecision(decision('dr_failover', 7_100));
  await n.flush();
  assert.deepEqual([...pd.alerts.keys()], ['cloudphoenix-incident-7100']);
  // The cycles after the failover decide none, held back by the cooldown: the outage goes on.
  n.onDecision({ ...decision('none', 7_130), level: 'dr_failover', blocked_by: ['cooldown'] });
  await n.flush();
  assert.equal(pd.alerts.get('cloudphoenix-incident-7100')?.status, 'triggered', 'the cooldown cleared it');
  n.onDecision(decision('none', 7_160));
  await n.flush();
  assert.equal(pd.alerts.get('cloudphoenix-incident-7100')?.status, 'resolved');
});
