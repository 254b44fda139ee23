import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { stringify } from 'yaml';
import { freePort } from '../../src/lab/index.js';
import { killAll, query, startCli, waitFor, type CliProcess } from './ha.js';
import { httpServer } from './servers.js';
import { pagerDutyEventsServer } from '../../src/stand-ins/pagerduty/events-api.js';
import { SiteStateStore, type SiteState } from '../../src/lifecycle/index.js';
import { FencedError, openStore } from '../../src/store/index.js';

/**
 * Several real `phoenix run` processes on one store (a SQLite file, or a scratch schema
 * of the PostgreSQL on 127.0.0.1:5432), and the scenarios every store must pass: the
 * leader SIGKILLed or SIGSTOPped mid-runbook, and duplicate webhooks over all of them.
 */

export const PG_URL = process.env.PHOENIX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const OPERATE_TOKEN = 'ha-test-operate-token-0123456789';

export type StoreKind = 'sqlite' | 'postgres';

/** Reads the shared store the way another process would, while the controllers write. */
interface StoreReader {
  rows<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

function sqliteReader(path: string): StoreReader {
  return { rows: async <T>(sql: string) => query<T>(path, sql), close: async () => undefined };
}

function postgresReader(schema: string): StoreReader {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2, options: `-c search_path="${schema}"` });
  pool.on('error', () => undefined);
  return {
    async rows<T>(sql: string) {
      try {
        return (await pool.query(sql)).rows as T[];
      } catch {
        return []; // the schema is created by the first controller
      }
    },
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

export interface World {
  kind: StoreKind;
  app: App;
  dir: string;
  config: string;
  store: StoreReader;
  /** The shared store as `store` in the configuration: what a process opening it itself passes to openStore. */
  storeConfig: Parameters<typeof openStore>[0];
  lines: () => string[];
  children: CliProcess['child'][];
  /** A controller; `env` adds to its environment (PHOENIX_HOST_ID: a host of its own). */
  start(standby?: boolean, listen?: string, env?: NodeJS.ProcessEnv): CliProcess;
  /** Kills every controller started, then drops the scratch schema. */
  close(): Promise<void>;
}

/** The HTTP app the probes watch; `healthy` flips what it answers. */
export interface App {
  url: string;
  healthy: boolean;
  /** The PagerDuty Events v2 stand-in the controllers page, when the scenarios started one. */
  pagerduty?: Awaited<ReturnType<typeof pagerDutyEventsServer>>;
}

function runbookStep(log: string, name: string, slowFirst: boolean) {
  return {
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
  };
}

/**
 * A store shared by the controllers, a short lease (2 s) and interval (1 s), and a
 * three-step runbook whose middle step sleeps on its first attempt: the moment to kill
 * or pause the leader. Each step logs its start and end, so the log shows what ran.
 * `configure` may replace sections of the configuration (another runbook, a topology).
 */
export function world(
  app: App,
  kind: StoreKind,
  options: {
    interval?: number;
    slowPromote?: boolean;
    configure?: (config: Record<string, unknown>) => Record<string, unknown>;
  } = {},
): World {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-ha-'));
  const log = join(dir, 'steps.log');
  const schema = `phoenix_ha_${randomBytes(5).toString('hex')}`;
  const store =
    kind === 'sqlite'
      ? { path: join(dir, 'phoenix.db'), lease_ttl: '2s' }
      : // ${PHX_PG_URL}: the URL (and so a password) stays out of the file, as in production.
        { driver: 'postgres', url: '${PHX_PG_URL}', schema, path: join(dir, 'unused.db'), lease_ttl: '2s' };
  const config = join(dir, 'phoenix.yaml');
  const configure = options.configure ?? ((c) => c);
  writeFileSync(
    config,
    stringify(
      configure({
        interval: options.interval ?? 1,
        decision: { analyzer: 'threshold' },
        store,
        server: {
          listen: '${PHX_LISTEN}',
          tokens: [{ name: 'alertmanager', token: OPERATE_TOKEN, role: 'operate' }],
          rate_limit: { max: 100000, window: '1m' },
        },
        ...(app.pagerduty && {
          notifications: {
            channels: [
              {
                channel: 'pagerduty',
                routing_key: 'R0UT1NGKEY0123456789ABCDEFGHIJKL',
                url: app.pagerduty.url,
              },
            ],
          },
        }),
        probes: {
          timeout: '1s',
          // One stand-in app plays both sites, so they fail together: after a failover DR's probes fail
          // too (the controller scores only the probes that follow the serving site) and any failover is held.
          sites: { primary: { app_url: app.url }, dr: { app_url: app.url } },
          signals: {
            internal_services: {
              type: 'http_checks',
              targets: [{ name: 'api', url: '{{active.app_url}}/health' }],
            },
            eks_nodes: { type: 'http', url: '{{active.app_url}}/nodes' },
            cross_cloud: { type: 'http', url: '{{active.app_url}}/dr' },
          },
        },
        runbooks: {
          dr_failover: {
            stages: [
              {
                name: 'database',
                steps: [
                  runbookStep(log, 'fence-old', false),
                  runbookStep(log, 'promote', options.slowPromote ?? true),
                ],
              },
              { name: 'dns', steps: [runbookStep(log, 'switch-dns', false)] },
            ],
          },
        },
      }),
    ),
  );
  const children: CliProcess['child'][] = [];
  const reader = kind === 'sqlite' ? sqliteReader(store.path) : postgresReader(schema);
  return {
    kind,
    app,
    dir,
    config,
    store: reader,
    storeConfig:
      kind === 'sqlite'
        ? { driver: 'sqlite', path: store.path }
        : { driver: 'postgres', path: store.path, url: PG_URL, schema },
    lines: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
    children,
    start(standby = false, listen = '127.0.0.1:0', env = {}) {
      const cli = startCli(
        ['run', '--config', config, '--log-format', 'json', ...(standby ? ['--standby'] : [])],
        { ...process.env, PHX_LISTEN: listen, PHX_PG_URL: PG_URL, ...env },
      );
      children.push(cli.child);
      return cli;
    },
    async close() {
      for (const child of children) {
        try {
          process.kill(child.pid!, 'SIGCONT');
        } catch {
          // gone
        }
      }
      killAll(children);
      await reader.close();
    },
  };
}

export async function lease(w: World): Promise<{ holder: string; token: number; pid: number } | undefined> {
  const [row] = await w.store.rows<{ holder: string; token: number }>(
    'SELECT holder, token FROM controller_leases',
  );
  return row ? { ...row, token: Number(row.token), pid: Number(row.holder.split(':')[1]) } : undefined;
}

export function runs(w: World) {
  return w.store.rows<{ id: string; status: string; fencing_token: number }>(
    'SELECT id, status, fencing_token FROM runbook_runs ORDER BY created_at',
  );
}

export function assertEachStepOnce(w: World): void {
  const lines = w.lines();
  for (const name of ['fence-old', 'promote', 'switch-dns'])
    assert.equal(
      lines.filter((l) => l === `done ${name}`).length,
      1,
      `${name} completed exactly once: ${lines.join(' | ')}`,
    );
}

/** The leader SIGKILLed mid-runbook: a follower takes over within TTL + one interval, resumes, every step once. */
export async function leaderKilledMidRunbook(w: World): Promise<void> {
  const leader = w.start();
  await waitFor(
    () => `the leader's run to reach promote (${leader.output()})`,
    () => w.lines().includes('start promote 1'),
  );
  const followers = [w.start(true), w.start(true)];
  await waitFor('the followers to start', () =>
    followers.every((f) => /standby: another controller leads/.test(f.output())),
  );
  const before = (await lease(w))!;
  assert.equal(before.pid, leader.child.pid);
  const pd = w.app.pagerduty;
  const incidents = () => [...(pd?.alerts ?? [])].filter(([key]) => key.startsWith('cloudphoenix-incident-'));
  if (pd) await waitFor('the leader to page on-call', () => incidents().length > 0);
  process.kill(leader.child.pid!, 'SIGKILL');
  const killedAt = performance.now();
  await waitFor('a follower to take the lease', async () => ((await lease(w))?.token ?? 0) > before.token);
  const takeover_s = (performance.now() - killedAt) / 1000;
  // TTL 2 s + one renewal interval (TTL / 3) + the follower's own polling slack.
  assert.ok(takeover_s <= 2 + 2 / 3 + 1, `takeover took ${takeover_s.toFixed(2)} s`);
  await waitFor(
    () => `the resumed run to succeed (${w.lines().join(' | ')})`,
    async () => (await runs(w))[0]?.status === 'succeeded',
  );
  const now = (await lease(w))!;
  assert.ok(
    followers.some((f) => f.child.pid === now.pid),
    'the new leader is one of the followers',
  );
  const all = await runs(w);
  assert.equal(all.length, 1, 'the failover was resumed, not started again');
  assert.equal(Number(all[0].fencing_token), now.token);
  assertEachStepOnce(w);
  assert.equal(w.lines().filter((l) => l.startsWith('start promote')).length, 2, 'promote re-run once');
  if (pd) await incidentResolvedByNextLeader(w, pd, incidents);
}

/**
 * On-call was paged once by the killed leader; the new leader (its notification state
 * restored from the store) pages nobody again and, when the primary heals, resolves that
 * same incident with the same dedup key.
 */
async function incidentResolvedByNextLeader(
  w: World,
  pd: NonNullable<App['pagerduty']>,
  incidents: () => Array<[string, { status: string; events: string[] }]>,
): Promise<void> {
  assert.equal(incidents().length, 1, JSON.stringify(incidents()));
  const [key, alert] = incidents()[0];
  assert.deepEqual(alert.events, ['trigger'], 'paged once, and not resolved while the outage goes on');
  w.app.healthy = true;
  await waitFor(
    () => `the new leader to resolve ${key} (${JSON.stringify(incidents())})`,
    () => pd.alerts.get(key)?.status === 'resolved',
  );
  assert.deepEqual(pd.alerts.get(key)?.events, ['trigger', 'resolve']);
  assert.equal(incidents().length, 1, 'no other incident opened');
  assert.deepEqual(pd.rejected, []);
}

/**
 * Whether another process can take the SQLite file's write lock within about two seconds.
 * A process frozen (SIGSTOP, a VM pause) while it holds that lock, inside a write
 * transaction or its fsync, keeps it until it wakes or dies: SQLite cannot break another
 * process's lock, so no other controller can write, nor take the lease, meanwhile. The
 * frozen process's lock cannot change, so one success proves it holds none; the live
 * follower's writes are short, so a lock busy for two seconds is the frozen one's.
 */
async function sqliteWriteLockFree(path: string): Promise<boolean> {
  const db = new Database(path, { fileMustExist: true, timeout: 250 });
  try {
    for (let tries = 0; tries < 8; tries++) {
      try {
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
        return true;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        await new Promise((r) => setImmediate(r));
      }
    }
    return false;
  } finally {
    db.close();
  }
}

/**
 * SIGSTOPs the leader. On SQLite, at a moment it holds no write lock: frozen inside a
 * write it would block every writer until it wakes (see sqliteWriteLockFree), which is
 * why several controllers that must survive a frozen leader need PostgreSQL, whose server
 * ends a transaction left idle (idle_in_transaction_session_timeout) and so its row locks.
 * Returns how many pauses landed inside a write.
 */
async function pauseOutsideWrites(w: World, pid: number): Promise<number> {
  for (let insideWrite = 0; ; insideWrite++) {
    process.kill(pid, 'SIGSTOP');
    if (w.kind !== 'sqlite' || (await sqliteWriteLockFree(join(w.dir, 'phoenix.db')))) return insideWrite;
    assert.ok(insideWrite < 10, 'the leader was paused inside a SQLite write ten times in a row');
    process.kill(pid, 'SIGCONT');
    await waitFor('the woken leader to end its write', () => sqliteWriteLockFree(join(w.dir, 'phoenix.db')));
  }
}

/** What a controller's /metrics and /api/status say about who leads. */
async function leadership(port: number) {
  const headers = { authorization: `Bearer ${OPERATE_TOKEN}` };
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers })).text();
  const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`, { headers })).json()) as {
    leader: { role: string; self: string; leader?: string; token?: number } | null;
  };
  return { metrics, status: status.leader };
}

/** The leader SIGSTOPped past its lease, then SIGCONT: it acts on nothing and the store refused its writes. */
export async function leaderPausedPastLease(w: World): Promise<void> {
  const paused = w.start();
  await waitFor(
    () => `the run to reach promote (${paused.output()})`,
    () => w.lines().includes('start promote 1'),
  );
  const follower = w.start(true);
  await waitFor('the follower to start', () => /standby: another controller leads/.test(follower.output()));
  const before = (await lease(w))!;
  const insideWrite = await pauseOutsideWrites(w, paused.child.pid!);
  if (insideWrite) console.log(`# the leader was first paused inside a SQLite write ${insideWrite} time(s)`);
  await waitFor(
    'the follower to take the expired lease',
    async () => (await lease(w))?.pid === follower.child.pid,
  );
  await waitFor(
    () => `the resumed run to succeed (${follower.output()})`,
    async () => (await runs(w))[0]?.status === 'succeeded',
  );
  const logged = paused.output().length;
  process.kill(paused.child.pid!, 'SIGCONT');
  await waitFor(
    () => `the woken ex-leader to notice (${paused.output().slice(logged)})`,
    () => /demoted self|does not hold the lease|is stale/.test(paused.output().slice(logged)),
  );
  assert.ok((await lease(w))!.token > before.token);
  const all = await runs(w);
  assert.equal(all.length, 1);
  assert.equal(all[0].status, 'succeeded', 'nothing the ex-leader did changed the finished run');
  const promote = await w.store.rows<{ attempt: number; outcome: string }>(
    `SELECT attempt, outcome FROM runbook_attempts WHERE step = 'promote' ORDER BY attempt`,
  );
  assert.deepEqual(promote, [
    { attempt: 1, outcome: 'interrupted' },
    { attempt: 2, outcome: 'succeeded' },
  ]);
  // The paused leader's step could not notice anything: the new leader killed it first.
  const [group] = await w.store.rows<{ killed_at: number | null }>(
    `SELECT killed_at FROM runbook_processes WHERE step = 'promote' AND attempt = 1`,
  );
  assert.notEqual(group.killed_at, null);
  assertEachStepOnce(w);
}

/** The site state as the store holds it (docs/lifecycle.md), read by another process. */
async function siteRow(w: World): Promise<{ state: SiteState; token: number | null } | undefined> {
  const [row] = await w.store.rows<{ state_json: string; token: number | null }>(
    `SELECT state_json, token FROM site_state WHERE name = 'controller'`,
  );
  return row ? { state: JSON.parse(row.state_json) as SiteState, token: row.token } : undefined;
}

/**
 * The site state across a takeover: the leader's failover run moves it to dr_active (journaled with
 * the leader's fencing token); the leader is SIGKILLed; the follower that takes over reads the same
 * state (its API, and its cycles probe and decide for DR, starting no failover); a write with the
 * dead leader's token is refused by the fence.
 */
export async function siteStateAcrossTakeover(w: World): Promise<void> {
  const leader = w.start();
  await waitFor(
    () => `the leader to record dr_active (${leader.output().slice(-2000)})`,
    async () => (await siteRow(w))?.state.state === 'dr_active',
  );
  const recorded = (await siteRow(w))!;
  const before = (await lease(w))!;
  assert.equal(before.pid, leader.child.pid);
  assert.equal(Number(recorded.token), before.token, 'saved under the leader fencing token');
  assert.equal(recorded.state.active_site, 'dr');
  assert.equal(recorded.state.old_primary?.fence, 'fence_pending', 'the runbook has no fence step');
  const journal = await w.store.rows<{ to_state: string; caused_by: string; token: number | null }>(
    'SELECT to_state, caused_by, token FROM site_events ORDER BY id',
  );
  assert.deepEqual(
    journal.map((e) => [e.to_state.split(' ')[0], e.caused_by.split(':')[0], Number(e.token)]),
    [
      ['failing_over', 'runbook', before.token],
      ['dr_active', 'runbook', before.token],
    ],
  );
  const port = await freePort();
  const follower = w.start(true, `127.0.0.1:${port}`);
  await waitFor(
    () => `the follower to serve (${follower.output().slice(-2000)})`,
    () => /HTTP API, \/metrics and dashboard listening/.test(follower.output()),
  );
  process.kill(leader.child.pid!, 'SIGKILL');
  await waitFor('the follower to take the lease', async () => (await lease(w))?.pid === follower.child.pid);
  const headers = { authorization: `Bearer ${OPERATE_TOKEN}` };
  type Status = {
    leader: { role: string } | null;
    site: { state: string; active_site: string; old_primary: { fence: string } | null } | null;
    latest: { site: string | null; decision: { action: string; blocked_by: string[] } } | null;
  };
  let status: Status | undefined;
  // The app is still down: the new leader's cycles score DR's probes and hold any failover.
  await waitFor(
    () => `the new leader to decide for DR (${JSON.stringify(status)})`,
    async () => {
      status = (await (await fetch(`http://127.0.0.1:${port}/api/status`, { headers })).json()) as Status;
      return (
        status.leader?.role === 'leader' &&
        status.latest?.site === 'dr' &&
        status.latest.decision.blocked_by.some((b) => b.startsWith('dr serves (site state dr_active)'))
      );
    },
  );
  assert.equal(status!.site?.state, 'dr_active');
  assert.equal(status!.site?.active_site, 'dr');
  assert.equal(status!.site?.old_primary?.fence, 'fence_pending');
  assert.notEqual(status!.latest?.decision.action, 'dr_failover');
  assert.equal((await runs(w)).length, 1, 'no second failover after the takeover');
  // A stale leader (the dead one's token) may not move the site state its successor owns.
  const db = await openStore(w.storeConfig);
  try {
    const sites = new SiteStateStore(db);
    await assert.rejects(
      sites.apply(
        { type: 'fence_held', run_id: null },
        { by: 'controller', reason: 'a stale leader' },
        Date.now() / 1000,
        before.token,
      ),
      FencedError,
    );
    const after = await sites.current();
    assert.equal(after.old_primary?.fence, 'fence_pending', 'the refused write changed nothing');
    assert.equal(after.state, 'dr_active');
  } finally {
    await db.close();
  }
}

const ALERT = JSON.stringify({
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

/** 1,000 duplicate Alertmanager webhooks spread over three controllers start exactly one run. */
export async function duplicateWebhooks(app: App, w: World): Promise<void> {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  // All three as --standby: whichever comes first leads, the others follow.
  const controllers = ports.map((port) => w.start(true, `127.0.0.1:${port}`));
  await waitFor(
    () => `three controllers serving (${controllers.map((c) => c.output()).join('\n')})`,
    () => controllers.every((c) => /HTTP API, \/metrics and dashboard listening/.test(c.output())),
  );
  // The primary goes down; Alertmanager (as after retries and across its own HA peers) repeats itself.
  app.healthy = false;
  const statuses = new Map<number, number>();
  for (let batch = 0; batch < 10; batch++) {
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`http://127.0.0.1:${ports[(batch * 100 + i) % 3]}/api/webhooks/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATE_TOKEN}` },
          body: ALERT,
        }).then((r) => r.status),
      ),
    );
    for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  assert.deepEqual([...statuses.keys()], [202], JSON.stringify([...statuses]));
  await waitFor(
    () => `the run to succeed (${w.lines().join(' | ')})`,
    async () => (await runs(w))[0]?.status === 'succeeded',
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
  assert.equal((await runs(w)).length, 1, JSON.stringify(await runs(w)));
  assertEachStepOnce(w);
  await whoLeads(w, controllers, ports);
}

/**
 * Every controller names the same leader: the leader's /api/status says it leads, each
 * follower's names it (what the dashboard's badge shows), and each follower's /metrics
 * carries phoenix_leader 0, phoenix_leader_info{holder,self="false"} and the fencing token.
 */
async function whoLeads(w: World, controllers: CliProcess[], ports: number[]): Promise<void> {
  const current = (await lease(w))!;
  const views = await Promise.all(ports.map(leadership));
  const leaderAt = controllers.findIndex((c) => c.child.pid === current.pid);
  assert.ok(leaderAt >= 0, 'one of the three leads');
  const holder = views[leaderAt].status!.self;
  assert.equal(holder, current.holder);
  assert.equal(views[leaderAt].status!.role, 'leader');
  assert.equal(views[leaderAt].status!.token, current.token);
  assert.match(views[leaderAt].metrics, /^phoenix_leader 1$/m);
  assert.ok(views[leaderAt].metrics.includes(`phoenix_leader_info{holder="${holder}",self="true"} 1`));
  for (const [i, view] of views.entries()) {
    if (i === leaderAt) continue;
    assert.equal(view.status?.role, 'follower');
    assert.equal(view.status?.leader, holder, 'the follower names the leader');
    assert.notEqual(view.status?.self, holder);
    assert.match(view.metrics, /^phoenix_leader 0$/m);
    assert.ok(
      view.metrics.includes(`phoenix_leader_info{holder="${holder}",self="false"} 1`),
      view.metrics
        .split('\n')
        .filter((l) => l.startsWith('phoenix_leader'))
        .join('\n'),
    );
    assert.match(view.metrics, new RegExp(`^phoenix_fencing_token ${current.token}$`, 'm'));
  }
}

/**
 * Registers the three scenarios on `kind`. Every probe of the app answers 503 unless it
 * is healthy: the score reaches the DR level at once and the threshold analyzer decides
 * dr_failover in the first cycle.
 */
export function haScenarios(kind: StoreKind): App {
  let server: Awaited<ReturnType<typeof httpServer>>;
  const app: App = { url: '', healthy: false };
  before(async () => {
    app.pagerduty = await pagerDutyEventsServer();
    server = await httpServer((_req, res) => {
      res.statusCode = app.healthy ? 200 : 503;
      res.end(app.healthy ? 'ok' : 'down');
    });
    app.url = server.url;
  });
  after(async () => {
    await server.close();
    await app.pagerduty?.close();
  });
  const scenario = (title: string, run: (w: World) => Promise<void>, options = {}, healthy = false) =>
    test(`${kind}: ${title}`, async () => {
      app.healthy = healthy;
      app.pagerduty?.alerts.clear();
      const w = world(app, kind, options);
      try {
        await run(w);
      } finally {
        app.healthy = false;
        await w.close();
      }
    });
  scenario(
    'three controllers: the leader SIGKILLed mid-runbook, a follower takes over, resumes, and every step runs exactly once',
    leaderKilledMidRunbook,
  );
  scenario(
    'a leader paused past its lease acts on nothing when it wakes: the store refuses its writes',
    leaderPausedPastLease,
  );
  scenario(
    'site state across a takeover: the leader records dr_active and is SIGKILLed, the follower reads the same state and acts on it, a stale token is refused',
    siteStateAcrossTakeover,
    { slowPromote: false },
  );
  scenario(
    '1,000 duplicate Alertmanager webhooks spread over three controllers start exactly one run',
    (w) => duplicateWebhooks(app, w),
    { interval: 30, slowPromote: false },
    true,
  );
  return app;
}
