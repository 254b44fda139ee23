import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPrimary, query, type PostgresCluster } from '../src/lab/index.js';
import { APP_ROLE, logicalPair, roleUrl } from '../src/lab/managed.js';
import { Journal } from '../src/runbook/index.js';
import { FencedError, leaseStoreOn, openStore } from '../src/store/index.js';
import { waitFor } from './helpers/ha.js';
import { lease, PG_URL, runs, world, type App } from './helpers/ha-world.js';
import { httpServer } from './helpers/servers.js';
import { cutoverFailover } from './helpers/takeover.js';

/**
 * Two `phoenix run` controllers on different hosts (PHOENIX_HOST_ID host-a and host-b) share a scratch
 * schema of the PostgreSQL on 127.0.0.1:5432, as controllers on separate machines do: neither can see the
 * other's pid, so only the lease tells that the leader is gone. The leader is frozen (SIGSTOP) in the middle
 * of the logical cut-over, after the sequences moved and the database opened, with the save of that step
 * state on its way to the store. The standby must wait for the lease to lapse, then continue the step from
 * the state in the store (the gap applied once); the frozen leader, woken after that, must write nothing.
 * Its save in flight does not land: it is checked against the lease in its own transaction once the lease
 * had lapsed, and the server ends that transaction when it stays idle (the pause). Which of the two stops
 * it is not visible from here (the woken process logs its demotion first), so a save under its token is
 * also tried against the store directly, and refused.
 */
const DB = 'shop_xhost';
const GAP = 1000;
const SCHEMA = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';
const STALE = /fencing token \d+ is stale/;
let base: string;
let publisher: PostgresCluster;
let subscriber: PostgresCluster;
let server: Awaited<ReturnType<typeof httpServer>>;
const app: App = { url: '', healthy: false };

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-xhost-'));
  [publisher, subscriber] = await Promise.all([
    startPrimary({ baseDir: join(base, 'pub') }),
    startPrimary({ baseDir: join(base, 'sub') }),
  ]);
  await logicalPair(publisher, subscriber, DB, SCHEMA, 60_000);
  // The primary is down for every probe: the leader decides dr_failover in its first cycle.
  server = await httpServer((_req, res) => {
    res.statusCode = 503;
    res.end('down');
  });
  app.url = server.url;
});

after(async () => {
  await server?.close();
  await Promise.allSettled([publisher?.stop(), subscriber?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

const all0 = (rows: Array<{ id: string }>) => rows[0].id;

/** The subscriber's sessions waiting for the database settings row: the cut-over opening the database. */
const openingWaits = async () =>
  (
    await query<{ pid: number }>(
      subscriber.connectionString('postgres'),
      `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER DATABASE%RESET%'`,
    )
  ).length;

test('controllers on different hosts: the standby takes a frozen leader’s cut-over only once its lease lapsed, continues it from the store (the gap applied once), and nothing the woken leader writes lands: its token is refused by the fence', async () => {
  await query(
    roleUrl(publisher, APP_ROLE, DB),
    "INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 50) g",
  );
  await waitFor('the 50 rows to reach the subscriber', async () => {
    const [{ n }] = await query<{ n: number }>(
      subscriber.connectionString(DB),
      'SELECT count(*)::int AS n FROM orders',
    );
    return n === 50;
  });
  const w = world(app, 'postgres', {
    configure: (config) => ({
      ...config,
      ...cutoverFailover(subscriber, publisher, DB, GAP),
    }),
  });
  // Holds the subscriber's database settings row: the leader's cut-over waits on it when it opens the
  // database for writes, after it advanced the sequences and saved that it had.
  const blocker = new pg.Client({ connectionString: subscriber.connectionString(DB) });
  blocker.on('error', () => undefined);
  await blocker.connect();
  let frozen: number | undefined;
  try {
    await blocker.query('BEGIN READ WRITE');
    await blocker.query(`ALTER DATABASE ${DB} SET default_transaction_read_only = on`);
    const a = w.start(false, '127.0.0.1:0', { PHOENIX_HOST_ID: 'host-a' });
    await waitFor(
      () => `A's cut-over to wait for the database settings (${a.output().slice(-1500)})`,
      async () => (await openingWaits()) === 1,
    );
    const b = w.start(true, '127.0.0.1:0', { PHOENIX_HOST_ID: 'host-b' });
    await waitFor(
      () => `B to follow (${b.output().slice(-1500)})`,
      () => /standby: another controller leads/.test(b.output()),
    );
    const leaseA = (await lease(w))!;
    assert.match(leaseA.holder, /^host-a:/);
    const [saved] = await w.store.rows<{ state_json: string; fencing_token: string }>(
      `SELECT state_json, fencing_token FROM runbook_step_state WHERE step = 'cutover'`,
    );
    const stateA = JSON.parse(saved.state_json) as { sequences?: unknown[]; opened_at?: string };
    assert.ok(stateA.sequences?.length, 'A saved the sequences it moved in the store');
    assert.equal(stateA.opened_at, undefined);
    assert.equal(Number(saved.fencing_token), leaseA.token);

    const schema = (w.storeConfig as { schema: string }).schema;
    const leaseRow = async () =>
      (
        await w.store.rows<{ holder: string; token: string; expires_at: number; acquired_at: number }>(
          'SELECT holder, token, expires_at, acquired_at FROM controller_leases',
        )
      )[0];
    // The lease row held by the test: A's next fenced write (the save of the opened database, its
    // heartbeat) waits for it at the store, its lease still live when it was sent.
    let lastExpiryA = 0;
    const rowLock = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
    rowLock.on('error', () => undefined);
    await rowLock.connect();
    try {
      await rowLock.query('BEGIN');
      await rowLock.query('SELECT 1 FROM controller_leases FOR UPDATE');
      const [{ pid: lockPid }] = (await rowLock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
        .rows;
      await blocker.query('ROLLBACK');
      await waitFor('A to open the database and send the save of it to the store', async () => {
        if ((await openingWaits()) !== 0) return false;
        const waiting = await w.store.rows<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${lockPid} = ANY (pg_blocking_pids(pid)) AND query LIKE '%FOR SHARE%'`,
        );
        return (waiting[0]?.n ?? 0) > 0;
      });
      // A, alive and in a long step, still leads: B follows and waits.
      assert.equal((await lease(w))!.token, leaseA.token);
      // A freezes (a VM pause, a stalled host) with its late write in flight.
      process.kill(a.child.pid!, 'SIGSTOP');
      frozen = a.child.pid;
      await waitFor('A’s lease to lapse', async () => {
        const rows = await w.store.rows<{ expires_at: number }>(
          'SELECT expires_at FROM controller_leases WHERE expires_at <= extract(epoch from clock_timestamp())',
        );
        lastExpiryA = Number(rows[0]?.expires_at ?? 0);
        return rows.length === 1;
      });
      await rowLock.query('COMMIT');
    } finally {
      await rowLock.end().catch(() => undefined);
    }
    await waitFor(
      () => `B to take the lease (${b.output().slice(-1500)})`,
      async () => (await leaseRow()).holder.startsWith('host-b:'),
    );
    const leaseB = await leaseRow();
    assert.ok(Number(leaseB.token) > leaseA.token);
    assert.ok(
      Number(leaseB.acquired_at) >= lastExpiryA,
      `B took the lease at ${leaseB.acquired_at}, before A's lease expired at ${lastExpiryA}`,
    );
    await waitFor(
      () => `B to finish the run (${b.output().slice(-2000)})`,
      async () => (await runs(w))[0]?.status === 'succeeded',
    );
    const attempts = await w.store.rows<{ attempt: number; outcome: string; started_at: number }>(
      `SELECT attempt, outcome, started_at FROM runbook_attempts WHERE step = 'cutover' ORDER BY attempt`,
    );
    assert.deepEqual(
      attempts.map((r) => [Number(r.attempt), r.outcome]),
      [
        [1, 'interrupted'],
        [2, 'succeeded'],
      ],
    );
    assert.ok(
      Number(attempts[1].started_at) >= lastExpiryA,
      'B resumed the step only after A’s lease lapsed',
    );
    const before = await w.store.rows<{ state_json: string; fencing_token: string; saved_at: number }>(
      `SELECT state_json, fencing_token, saved_at FROM runbook_step_state WHERE step = 'cutover'`,
    );
    assert.equal(Number(before[0].fencing_token), Number(leaseB.token), 'B saved the step state last');

    // A wakes: its save gets the store's answer, checked after its lease lapsed, and A finds it no longer leads.
    const logged = a.output().length;
    process.kill(a.child.pid!, 'SIGCONT');
    frozen = undefined;
    await waitFor(
      () => `A to stop leading (${a.output().slice(logged)})`,
      () => /demoted self/.test(a.output().slice(logged)),
    );
    // What A's woken process still holds: a run of its own it stopped, handed over with nothing written.
    await waitFor(
      () => `A to stop its run (${a.output().slice(logged)})`,
      () => /"msg":"runbook run"/.test(a.output().slice(logged)),
    );
    if (STALE.test(a.output().slice(logged))) console.log('# the store refused a write of the woken A');
    // Nothing A tried after its lease lapsed is in the store.
    assert.deepEqual(
      await w.store.rows(
        `SELECT state_json, fencing_token, saved_at FROM runbook_step_state WHERE step = 'cutover'`,
      ),
      before,
    );
    assert.deepEqual(
      (
        await w.store.rows<{ attempt: number; outcome: string }>(
          `SELECT attempt, outcome FROM runbook_attempts WHERE step = 'cutover' ORDER BY attempt`,
        )
      ).map((r) => [Number(r.attempt), r.outcome]),
      [
        [1, 'interrupted'],
        [2, 'succeeded'],
      ],
    );
    // A's token, as its late save carries it, against the store now: refused, nothing changed.
    const db = await openStore(w.storeConfig);
    try {
      const lateA = new Journal(db, undefined, 60, async () => {
        await leaseStoreOn(db).assertToken(leaseA.token);
        return leaseA.token;
      });
      await assert.rejects(
        lateA.saveStepState(all0(await runs(w)), 'cutover', { ...stateA, opened_at: 'late' }),
        (error: Error) => error instanceof FencedError && STALE.test(error.message),
      );
    } finally {
      await db.close();
    }
    assert.deepEqual(
      await w.store.rows(
        `SELECT state_json, fencing_token, saved_at FROM runbook_step_state WHERE step = 'cutover'`,
      ),
      before,
    );
    const all = await runs(w);
    assert.equal(all.length, 1);
    assert.equal(all[0].status, 'succeeded');
    assert.equal(Number(all[0].fencing_token), Number(leaseB.token));
    const [{ v }] = await query<{ v: string }>(
      subscriber.connectionString(DB),
      "SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = 'orders_id_seq'",
    );
    assert.equal(Number(v), 50 + GAP, 'the sequence gap was applied once, by A, and B continued from there');
    const [row] = await query<{ id: string }>(
      roleUrl(subscriber, APP_ROLE, DB),
      "INSERT INTO orders (note) VALUES ('on dr') RETURNING id::text AS id",
    );
    assert.equal(Number(row.id), 50 + GAP + 1);
  } finally {
    if (frozen) process.kill(frozen, 'SIGCONT');
    await blocker.end().catch(() => undefined);
    await w.close();
  }
});
