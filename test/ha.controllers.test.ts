import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { httpServer } from './helpers/servers.js';
import { freePort } from '../src/lab/index.js';
import { killAll, query, startCli, waitFor, type CliProcess } from './helpers/ha.js';

// Every probe answers 503: the score reaches the DR level at once and the threshold
// analyzer decides dr_failover in the first cycle.
let app: Awaited<ReturnType<typeof httpServer>>;
let healthy = false;
before(async () => {
  app = await httpServer((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end(healthy ? 'ok' : 'down');
  });
});
after(() => app.close());

interface World {
  dir: string;
  db: string;
  config: string;
  lines: () => string[];
  children: CliProcess['child'][];
  start(standby?: boolean, listen?: string): CliProcess;
}

const OPERATE_TOKEN = 'ha-test-operate-token-0123456789';

/**
 * A store file shared by the controllers, a short lease (2 s) and interval (1 s), and a
 * three-step runbook whose middle step sleeps on its first attempt: the moment to kill
 * or pause the leader. Each step logs its start and end, so the log shows what ran.
 */
function world(options: { interval?: number; slowPromote?: boolean } = {}): World {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-ha-'));
  const log = join(dir, 'steps.log');
  const step = (name: string, slowFirst: boolean) => ({
    name,
    type: 'command',
    params: {
      command: 'sh',
      args: [
        '-c',
        [
          `echo "start $PHOENIX_STEP $PHOENIX_ATTEMPT" >> "${log}"`,
          slowFirst ? `if [ "$PHOENIX_ATTEMPT" = 1 ]; then sleep 60; fi` : ':',
          `echo "done $PHOENIX_STEP" >> "${log}"`,
        ].join('\n'),
      ],
    },
  });
  const config = join(dir, 'phoenix.yaml');
  writeFileSync(
    config,
    stringify({
      interval: options.interval ?? 1,
      decision: { analyzer: 'threshold' },
      store: { path: join(dir, 'phoenix.db'), lease_ttl: '2s' },
      server: {
        listen: '${PHX_LISTEN}',
        tokens: [{ name: 'alertmanager', token: OPERATE_TOKEN, role: 'operate' }],
        rate_limit: { max: 100000, window: '1m' },
      },
      probes: {
        timeout: '1s',
        signals: {
          internal_services: { type: 'http_checks', targets: [{ name: 'api', url: `${app.url}/health` }] },
          eks_nodes: { type: 'http', url: `${app.url}/nodes` },
          cross_cloud: { type: 'http', url: `${app.url}/dr` },
        },
      },
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'database',
              steps: [step('fence-old', false), step('promote', options.slowPromote ?? true)],
            },
            { name: 'dns', steps: [step('switch-dns', false)] },
          ],
        },
      },
    }),
  );
  const children: CliProcess['child'][] = [];
  return {
    dir,
    db: join(dir, 'phoenix.db'),
    config,
    lines: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
    children,
    start(standby = false, listen = '127.0.0.1:0') {
      const cli = startCli(
        ['run', '--config', config, '--log-format', 'json', ...(standby ? ['--standby'] : [])],
        { ...process.env, PHX_LISTEN: listen },
      );
      children.push(cli.child);
      return cli;
    },
  };
}

function lease(w: World): { holder: string; token: number; pid: number } | undefined {
  const [row] = query<{ holder: string; token: number }>(w.db, 'SELECT holder, token FROM controller_leases');
  return row ? { ...row, pid: Number(row.holder.split(':')[1]) } : undefined;
}

function runs(w: World) {
  return query<{ id: string; status: string; fencing_token: number }>(
    w.db,
    'SELECT id, status, fencing_token FROM runbook_runs',
  );
}

function assertEachStepOnce(w: World): void {
  const lines = w.lines();
  for (const name of ['fence-old', 'promote', 'switch-dns'])
    assert.equal(
      lines.filter((l) => l === `done ${name}`).length,
      1,
      `${name} completed exactly once: ${lines.join(' | ')}`,
    );
}

test('a second controller on the same SQLite file exits at once with a clear error', async () => {
  const w = world();
  try {
    const first = w.start();
    await waitFor(
      () => `the first controller to lead (${first.output()})`,
      () => lease(w) !== undefined,
    );
    const second = w.start();
    assert.equal(await second.exit, 2, second.output());
    assert.match(
      second.output(),
      /another controller holds this store: .*:\d+:.* \(fencing token 1\).*--standby/,
    );
    // The first keeps working, and other processes still read the store.
    const status = await new Promise<number>((resolve) => {
      const cli = startCli(['runs', '--json', '--config', w.config], {
        ...process.env,
        PHX_LISTEN: '127.0.0.1:0',
      });
      w.children.push(cli.child);
      void cli.exit.then(resolve);
    });
    assert.equal(status, 0);
    assert.equal(lease(w)?.pid, first.child.pid);
  } finally {
    killAll(w.children);
  }
});

test('three controllers: the leader SIGKILLed mid-runbook, a follower takes over, resumes, and every step runs exactly once', async () => {
  const w = world();
  try {
    const leader = w.start();
    await waitFor(
      () => `the leader's run to reach promote (${leader.output()})`,
      () => w.lines().includes('start promote 1'),
    );
    const followers = [w.start(true), w.start(true)];
    await waitFor('the followers to start', () =>
      followers.every((f) => /standby: another controller leads/.test(f.output())),
    );
    const before = lease(w)!;
    assert.equal(before.pid, leader.child.pid);
    process.kill(leader.child.pid!, 'SIGKILL');

    await waitFor('a follower to take the lease', () => (lease(w)?.token ?? 0) > before.token);
    await waitFor(
      () => `the resumed run to succeed (${w.lines().join(' | ')})`,
      () => runs(w)[0]?.status === 'succeeded',
    );
    const now = lease(w)!;
    assert.ok(
      followers.some((f) => f.child.pid === now.pid),
      'the new leader is one of the followers',
    );
    assert.equal(runs(w).length, 1, 'the failover was resumed, not started again');
    assert.equal(runs(w)[0].fencing_token, now.token);
    assertEachStepOnce(w);
    assert.equal(w.lines().filter((l) => l.startsWith('start promote')).length, 2, 'promote re-run once');
  } finally {
    killAll(w.children);
  }
});

test('a leader paused past its lease acts on nothing when it wakes: the store refuses its writes', async () => {
  const w = world();
  try {
    const paused = w.start();
    await waitFor(
      () => `the run to reach promote (${paused.output()})`,
      () => w.lines().includes('start promote 1'),
    );
    const follower = w.start(true);
    await waitFor('the follower to start', () => /standby: another controller leads/.test(follower.output()));
    const before = lease(w)!;
    process.kill(paused.child.pid!, 'SIGSTOP');
    await waitFor('the follower to take the expired lease', () => lease(w)?.pid === follower.child.pid);
    await waitFor(
      () => `the resumed run to succeed (${follower.output()})`,
      () => runs(w)[0]?.status === 'succeeded',
    );
    const logged = paused.output().length;
    process.kill(paused.child.pid!, 'SIGCONT');
    await waitFor(
      () => `the woken ex-leader to notice (${paused.output().slice(logged)})`,
      () => /demoted self|does not hold the lease|is stale/.test(paused.output().slice(logged)),
    );
    assert.ok(lease(w)!.token > before.token);
    assert.equal(runs(w).length, 1);
    assert.equal(runs(w)[0].status, 'succeeded', 'nothing the ex-leader did changed the finished run');
    const promote = query<{ attempt: number; outcome: string }>(
      w.db,
      `SELECT attempt, outcome FROM runbook_attempts WHERE step = 'promote' ORDER BY attempt`,
    );
    assert.deepEqual(promote, [
      { attempt: 1, outcome: 'interrupted' },
      { attempt: 2, outcome: 'succeeded' },
    ]);
    // The paused leader's step could not notice anything: the new leader killed it first.
    const [group] = query<{ killed_at: number | null }>(
      w.db,
      `SELECT killed_at FROM runbook_processes WHERE step = 'promote' AND attempt = 1`,
    );
    assert.notEqual(group.killed_at, null);
    assertEachStepOnce(w);
  } finally {
    for (const child of w.children) {
      try {
        process.kill(child.pid!, 'SIGCONT');
      } catch {
        // gone
      }
    }
    killAll(w.children);
  }
});

test('1,000 duplicate Alertmanager webhooks spread over three controllers start exactly one run', async () => {
  healthy = true;
  const w = world({ interval: 30, slowPromote: false });
  try {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    // All three as --standby: whichever comes first leads, the others follow.
    const controllers = ports.map((port) => w.start(true, `127.0.0.1:${port}`));
    await waitFor(
      () => `three controllers serving (${controllers.map((c) => c.output()).join('\n')})`,
      () => controllers.every((c) => /HTTP API, \/metrics and dashboard listening/.test(c.output())),
    );
    // The primary goes down; Alertmanager (as after retries and across its own HA peers) repeats itself.
    healthy = false;
    const body = JSON.stringify({
      version: '4',
      groupKey: '{}:{alertname="CheckoutDown"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'phoenix',
      groupLabels: { alertname: 'CheckoutDown' },
      commonLabels: { alertname: 'CheckoutDown' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'CheckoutDown' },
          annotations: {},
          startsAt: '2027-01-15T10:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example/graph',
          fingerprint: 'checkout-down',
        },
      ],
    });
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fetch(`http://127.0.0.1:${ports[(batch * 100 + i) % 3]}/api/webhooks/alertmanager`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATE_TOKEN}` },
            body,
          }).then((r) => r.status),
        ),
      );
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.deepEqual([...statuses.keys()], [202], JSON.stringify([...statuses]));
    await waitFor(
      () => `the run to succeed (${w.lines().join(' | ')})`,
      () => runs(w)[0]?.status === 'succeeded',
    );
    // Once more on every controller after the run: still one run.
    await Promise.all(
      ports.map((port) =>
        fetch(`http://127.0.0.1:${port}/api/cycle`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPERATE_TOKEN}` },
        }),
      ),
    );
    assert.equal(runs(w).length, 1, JSON.stringify(runs(w)));
    assertEachStepOnce(w);
  } finally {
    healthy = false;
    killAll(w.children);
  }
});
