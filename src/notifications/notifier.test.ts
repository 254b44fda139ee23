import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ThresholdAnalyzer } from '../analysis/index.js';
import { parseConfig, type PhoenixConfig } from '../config/index.js';
import { Controller } from '../controller/index.js';
import type { SignalSnapshot, SignalSource } from '../core/index.js';
import { createLogger } from '../log/index.js';
import type { ReadinessReport } from '../runbook/index.js';
import { httpServer } from '../../test/helpers/servers.js';
import { snapshot } from '../../test/server/harness.js';
import { Notifier, NotificationStateStore } from './index.js';
import { leaseStoreOn, SqliteSql } from '../store/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

let receiver: Awaited<ReturnType<typeof httpServer>>;
const received: Received[] = [];

before(async () => {
  // Answers as each vendor does: Slack "ok", PagerDuty Events v2 202 with a dedup key.
  receiver = await httpServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += String(c)));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      received.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/slack') {
        res.end('ok');
      } else if (req.url === '/v2/enqueue') {
        res.statusCode = 202;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: body.dedup_key }));
      } else if (req.url === '/hook') {
        res.end('{}');
      } else {
        res.statusCode = 500;
        res.end('internal error');
      }
    });
  });
});
after(() => receiver.close());

function config(extra: Record<string, unknown> = {}): PhoenixConfig {
  return parseConfig(
    {
      interval: '1h',
      decision: { analyzer: 'threshold' },
      notifications: {
        channels: [
          { channel: 'slack', webhook_url: '${SLACK_URL}' },
          { channel: 'pagerduty', routing_key: '${PD_KEY}', url: `${receiver.url}/v2/enqueue` },
          { channel: 'webhook', url: `${receiver.url}/hook`, headers: { 'x-team': 'sre' } },
        ],
        repeat_after: '30m',
        ...extra,
      },
    },
    'test.yaml',
    { SLACK_URL: `${receiver.url}/slack`, PD_KEY: 'R0UT1NGKEY0123456789' },
  );
}

class SetSignals implements SignalSource {
  current: SignalSnapshot = snapshot();
  async collect(): Promise<SignalSnapshot> {
    return this.current;
  }
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    pretty: false,
    destination: new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    }),
  });
  return { lines, logger };
}

test('the notifications section is strict: typos and an empty channel list are reported', () => {
  assert.throws(
    () =>
      parseConfig({ notifications: { channels: [{ channel: 'slack', webhook_url: 'http://x/', tags: 1 }] } }),
    /tags/,
  );
  assert.throws(() => parseConfig({ notifications: { channels: [] } }), /at least one channel/);
  assert.throws(() => parseConfig({ notifications: { channels: [{ channel: 'email', to: 'a@b' }] } }));
  assert.throws(
    () =>
      parseConfig({ notifications: { channels: [{ channel: 'webhook', url: 'http://x/' }], decision: [] } }),
    /decision/,
  );
});

test('a failover decision reaches Slack, PagerDuty and a webhook once; a repeat waits for repeat_after', async () => {
  received.length = 0;
  const cfg = config();
  let clock = 1_800_000_000;
  const notifier = new Notifier({ settings: cfg.raw.notifications!, clock: () => clock });
  const signals = new SetSignals();
  const controller = new Controller({
    config: cfg,
    signals,
    analyzer: new ThresholdAnalyzer(),
    clock: () => clock,
    sink: { onDecision: async (decision) => notifier.onDecision(decision) },
  });
  try {
    await controller.runCycleNow('schedule');
    await notifier.flush();
    assert.equal(received.length, 0, 'a quiet cycle notified');

    signals.current = snapshot({ eks_nodes: 'error', internal_services: 'error', cross_cloud: 'error' });
    const record = await controller.runCycleNow('schedule');
    assert.equal(record.decision.action, 'dr_failover');
    await notifier.flush();
    assert.deepEqual(received.map((r) => r.path).sort(), ['/hook', '/slack', '/v2/enqueue']);

    const slack = received.find((r) => r.path === '/slack')!;
    assert.deepEqual(Object.keys(slack.body), ['text']);
    assert.match(
      String(slack.body.text),
      /^CloudPhoenix decision: dr failover \(score 13, level dr_failover/,
    );

    const pd = received.find((r) => r.path === '/v2/enqueue')!.body as {
      routing_key: string;
      event_action: string;
      dedup_key: string;
      payload: { summary: string; source: string; severity: string; custom_details: Record<string, string> };
    };
    assert.equal(pd.routing_key, 'R0UT1NGKEY0123456789');
    assert.equal(pd.event_action, 'trigger');
    assert.equal(pd.dedup_key, `cloudphoenix-incident-${clock}`);
    assert.equal(pd.payload.severity, 'critical');
    assert.equal(pd.payload.source, 'cloudphoenix');
    assert.equal(pd.payload.summary, slack.body.text);

    const hook = received.find((r) => r.path === '/hook')!;
    assert.equal(hook.headers['x-team'], 'sre');
    assert.equal(hook.headers['content-type'], 'application/json');
    assert.deepEqual(
      { ...hook.body, message: undefined },
      {
        run_id: `incident-${clock}`,
        runbook: 'controller',
        stage: 'decision',
        step: 'dr_failover',
        message: undefined,
      },
    );

    // The same decision ten minutes later: not sent again. After repeat_after: sent again.
    received.length = 0;
    clock += 600;
    notifier.onDecision({ ...record.decision, at: clock });
    await notifier.flush();
    assert.equal(received.length, 0);
    clock += 1800;
    notifier.onDecision({ ...record.decision, at: clock });
    await notifier.flush();
    assert.equal(received.length, 3);

    // A different decision in the same incident goes at once, under the same PagerDuty incident.
    received.length = 0;
    notifier.onDecision({
      ...record.decision,
      action: 'escalate',
      blocked_by: ['kill switch on'],
      at: clock,
    });
    await notifier.flush();
    assert.equal(received.length, 3);
    const escalation = received.find((r) => r.path === '/v2/enqueue')!.body as { dedup_key: string };
    assert.equal(escalation.dedup_key, pd.dedup_key);
    assert.match(
      String(received.find((r) => r.path === '/slack')!.body.text),
      /Held back by: kill switch on\./,
    );
  } finally {
    await controller.stop();
  }
});

/** A readiness report: one terraform step whose binary is there (ready) or not. */
function readinessReport(ready: boolean): ReadinessReport {
  return {
    checked_at: 1,
    duration_ms: 1,
    ready,
    runbooks: [
      {
        runbook: 'dr_failover',
        ok: ready,
        problems: [],
        steps: [
          {
            stage: 'infrastructure',
            step: 'apply',
            type: 'terraform',
            summary: 'terraform apply',
            approval: false,
            ok: ready,
            checks: [
              { check: 'terraform present', ok: ready, detail: ready ? '/usr/bin/terraform' : 'not on PATH' },
            ],
          },
        ],
      },
    ],
  };
}

test('runbook results, approval waits and readiness changes notify; readiness recovery resolves in PagerDuty', async () => {
  received.length = 0;
  const cfg = config({ decisions: ['dr_failover'] });
  const notifier = new Notifier({ settings: cfg.raw.notifications! });
  notifier.onDecision({
    at: 1,
    action: 'self_heal',
    score: 5,
    level: 'self_heal',
    category: 'unknown',
    confidence: 'high',
    reason: 'r',
    blocked_by: [],
  });
  notifier.onRunEvent({ type: 'run', runId: 'run-1', runbook: 'dr_failover', status: 'running' });
  await notifier.flush();
  assert.equal(received.length, 0, 'self_heal is not in decisions; a run starting is not a result');

  notifier.onRunEvent({ type: 'approval', runId: 'run-1', gate: 'stage promote', status: 'waiting' });
  notifier.onRunEvent({
    type: 'run',
    runId: 'run-1',
    runbook: 'dr_failover',
    status: 'failed',
    error: 'verify: HTTP 503',
  });
  await notifier.flush();
  const slackTexts = received.filter((r) => r.path === '/slack').map((r) => String(r.body.text));
  assert.deepEqual(slackTexts.sort(), [
    'CloudPhoenix run run-1 waits for approval at stage promote: phoenix approve run-1 (or abort)',
    'CloudPhoenix runbook dr_failover run run-1 failed: verify: HTTP 503',
  ]);
  const pdRun = received.filter((r) => r.path === '/v2/enqueue').map((r) => r.body.dedup_key);
  assert.deepEqual(pdRun.sort(), [
    'cloudphoenix-approval-run-1-stage-promote',
    'cloudphoenix-approval-run-1-stage-promote',
    'cloudphoenix-run-run-1',
  ]);

  received.length = 0;
  notifier.onReadiness(readinessReport(true));
  await notifier.flush();
  assert.equal(received.length, 0, 'ready at start is not news');
  notifier.onReadiness(readinessReport(false));
  await notifier.flush();
  const down = received.find((r) => r.path === '/v2/enqueue')!.body as {
    event_action: string;
    dedup_key: string;
    payload: { severity: string; summary: string };
  };
  assert.equal(down.event_action, 'trigger');
  assert.equal(down.payload.severity, 'warning');
  assert.match(
    down.payload.summary,
    /NOT ready.*dr_failover infrastructure\/apply terraform present: not on PATH/,
  );
  received.length = 0;
  notifier.onReadiness(readinessReport(true));
  await notifier.flush();
  const up = received.find((r) => r.path === '/v2/enqueue')!.body as {
    event_action: string;
    dedup_key: string;
  };
  assert.equal(up.event_action, 'resolve');
  assert.equal(up.dedup_key, down.dedup_key);
});

test('a run that succeeded while a stage of it did nothing warns, names the stage, and resolves nothing', async () => {
  received.length = 0;
  const notifier = new Notifier({ settings: config().raw.notifications! });
  notifier.onRunEvent({
    type: 'run',
    runId: 'run-5',
    runbook: 'dr_failover',
    status: 'succeeded',
    without_effect: [{ stage: 'fence', failed_steps: ['fence-old-primary'] }],
  });
  await notifier.flush();
  const slack = received.filter((r) => r.path === '/slack').map((r) => String(r.body.text));
  assert.deepEqual(slack, [
    'CloudPhoenix runbook dr_failover run run-5 succeeded; did nothing: stage fence (every step failed: fence-old-primary)',
  ]);
  const pd = received.find((r) => r.path === '/v2/enqueue')!.body as {
    event_action: string;
    payload: { severity: string };
  };
  assert.equal(pd.event_action, 'trigger');
  assert.equal(pd.payload.severity, 'warning');
});

test('a channel that fails is logged and does not stop the others or the caller', async () => {
  received.length = 0;
  const cfg = parseConfig({
    notifications: {
      channels: [
        { channel: 'webhook', url: `${receiver.url}/broken` },
        { channel: 'slack', webhook_url: `${receiver.url}/slack` },
      ],
    },
  });
  const { lines, logger } = capture();
  const notifier = new Notifier({ settings: cfg.raw.notifications!, logger });
  const deliveries = await notifier.send({
    kind: 'decision',
    subject: 'escalate',
    source: 'controller',
    key: 'k',
    severity: 'critical',
    text: 'hello',
  });
  assert.deepEqual(
    deliveries.map((d) => [d.channel, d.ok]),
    [
      ['webhook', false],
      ['slack', true],
    ],
  );
  assert.match(deliveries[0].detail, /webhook answered HTTP 500: internal error/);
  const error = lines.find((l) => l.msg === 'notification not delivered')!;
  assert.equal(error.channel, 'webhook');
  assert.equal(lines.filter((l) => l.msg === 'notified').length, 1);
});

test('the readiness alert is in the notification state: a restart neither repeats it nor leaves it open, and a new leader announces a change it saw as a follower', async () => {
  const db = SqliteSql.open(join(mkdtempSync(join(tmpdir(), 'phoenix-notify-')), 'phoenix.db'));
  const settings = config().raw.notifications!;
  const pdEvents = () =>
    received
      .filter((r) => r.path === '/v2/enqueue')
      .map((r) => `${String(r.body.event_action)} ${String(r.body.dedup_key)}`);
  try {
    received.length = 0;
    const first = new Notifier({ settings, state: new NotificationStateStore(db) });
    await first.restore();
    first.onReadiness(readinessReport(false));
    await first.flush();
    assert.deepEqual(pdEvents(), ['trigger cloudphoenix-runbook-readiness']);

    // Restarted, still not ready: nothing again.
    received.length = 0;
    const restarted = new Notifier({ settings, state: new NotificationStateStore(db) });
    await restarted.restore();
    restarted.onReadiness(readinessReport(false));
    await restarted.flush();
    assert.deepEqual(pdEvents(), []);

    // A follower sees the runbooks become ready; elected, it resolves the alert its predecessor opened.
    const lease: { token?: number } = {};
    const follower = new Notifier({
      settings,
      state: new NotificationStateStore(db),
      leader: { currentToken: () => lease.token },
    });
    follower.onReadiness(readinessReport(true));
    await follower.flush();
    assert.deepEqual(pdEvents(), [], 'a follower sends nothing');
    lease.token = (await leaseStoreOn(db).acquire('dr-host:2:b', 30)).lease.token;
    await follower.restore();
    await follower.flush();
    assert.deepEqual(pdEvents(), ['resolve cloudphoenix-runbook-readiness']);
  } finally {
    await db.close();
  }
});
