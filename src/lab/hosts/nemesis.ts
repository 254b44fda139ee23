import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { waitUntil } from '../process.js';
import { check, type LeaseSample, type Verdict } from './checker.js';
import type { ControllerProcess, MultiHostLab } from './lab.js';

/** What a fault sees of the running scenario. */
export interface FaultContext {
  lab: MultiHostLab;
  /** The lease as last read, and the controller process holding it. */
  leader(): { host: string; token: number; process: ControllerProcess };
  followers(): ControllerProcess[];
  /** Resolves once a token newer than `token` holds a live lease. */
  newerLeader(token: number): Promise<void>;
  /** Resolves once the failover's run has succeeded. */
  runSucceeded(): Promise<void>;
  /** The lease's TTL and the controllers' interval, in seconds. */
  ttl_s: number;
  interval_s: number;
  pause(seconds: number): Promise<void>;
}

export interface Scenario {
  name: string;
  /** The primary suffers a real regional outage (its host cut off) while the fault happens. */
  outage: boolean;
  /** Some controller can reach the store all along: the leaderless bound applies. */
  storeReachable: boolean;
  what: string;
  /** Applies the fault and ends it; returns when the leader was put out of action, if it was. */
  fault(ctx: FaultContext): Promise<number | undefined>;
}

export interface ScenarioResult extends Verdict {
  scenario: string;
  outage: boolean;
  store_reachable: boolean;
  leaderless_bound_s: number;
  within_bound: boolean;
  takeovers: number;
  duration_s: number;
}

const now = () => Date.now() / 1000;
const STEPS = ['fence-old', 'promote', 'switch-dns'];

/** Reads the lease and the journal through the store's Unix socket every 100 ms, whatever the partitions. */
function observe(lab: MultiHostLab, schema: string) {
  const pool = new pg.Pool({
    connectionString: lab.store.socketUrl,
    max: 2,
    options: `-c search_path=${schema}`,
  });
  pool.on('error', () => undefined);
  const leases: LeaseSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await pool
        .query<{ holder: string; token: string; expires_at: number }>(
          'SELECT holder, token, expires_at FROM controller_leases',
        )
        .then(
          (r) => r.rows,
          () => [],
        );
      if (rows[0])
        leases.push({
          at: now(),
          holder: rows[0].holder,
          token: Number(rows[0].token),
          expires_at: Number(rows[0].expires_at),
        });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const runs = () =>
    pool.query<{ id: string; status: string }>('SELECT id, status FROM runbook_runs').then(
      (r) => r.rows,
      () => [],
    );
  return {
    leases,
    runs,
    async stop() {
      stopped = true;
      await loop;
      const final = await runs();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pool.end();
      return final;
    },
  };
}

function faultContext(
  lab: MultiHostLab,
  controllers: ControllerProcess[],
  watch: ReturnType<typeof observe>,
): FaultContext {
  const last = () => watch.leases.at(-1);
  const leader = () => {
    const lease = last()!;
    const host = lease.holder.split(':')[0];
    return { host, token: lease.token, process: controllers.find((c) => c.host === host)! };
  };
  return {
    lab,
    leader,
    followers: () => controllers.filter((c) => c.host !== leader().host),
    newerLeader: (token) =>
      waitUntil(
        () => {
          const l = last();
          return !!l && l.token > token && l.expires_at > now();
        },
        120_000,
        `a leader newer than token ${token}`,
        50,
      ),
    runSucceeded: () =>
      waitUntil(
        async () => (await watch.runs()).some((r) => r.status === 'succeeded'),
        180_000,
        'the failover run to succeed',
        200,
      ),
    ttl_s: lab.options.ttl_s,
    interval_s: lab.options.interval_s,
    pause: (s) => new Promise((r) => setTimeout(r, s * 1000)),
  };
}

/**
 * One scenario on a fresh store schema: three controllers start, the primary goes down (or stays
 * healthy), the nemesis strikes once the failover is inside its slow step (or after a few healthy
 * cycles), every fault ends, and the checker reads what happened.
 */
export async function runScenario(
  lab: MultiHostLab,
  scenario: Scenario,
  logDir: string,
): Promise<ScenarioResult> {
  const started = now();
  const schema = `mh_${scenario.name.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  const controllers = lab.startControllers(schema, join(logDir, scenario.name));
  const watch = observe(lab, schema);
  const ctx = faultContext(lab, controllers, watch);
  const effects = () => lab.effects().filter((e) => e.at >= started);
  let leaderLostAt: number | undefined;
  try {
    await waitUntil(() => watch.leases.some((l) => l.expires_at > l.at), 120_000, 'a first leader', 50);
    if (scenario.outage) {
      await lab.fabric.link('primary', false);
      await waitUntil(
        () => effects().some((e) => e.step === 'promote' && e.phase === 'start'),
        120_000,
        'the failover to reach promote',
        50,
      );
    } else await ctx.pause(3 * lab.options.interval_s);
    leaderLostAt = await scenario.fault(ctx);
    await lab.fabric.heal(scenario.outage ? ['primary'] : []);
    if (scenario.outage) {
      await ctx.runSucceeded();
      await lab.fabric.link('primary', true);
    }
    // Long enough for what a stale controller or its step still had in flight to land.
    await ctx.pause(Math.max(lab.options.promote_s, 2 * lab.options.ttl_s) + 2 * lab.options.interval_s);
  } finally {
    await lab.fabric.heal();
    for (const c of controllers)
      try {
        process.kill(c.child.pid!, 'SIGCONT');
        process.kill(c.child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    await Promise.all(controllers.map((c) => c.exit));
  }
  const runs = await watch.stop();
  const verdict = check({
    outage: scenario.outage,
    steps: STEPS,
    effects: effects(),
    leases: watch.leases,
    runs,
    leaderLostAt,
  });
  const bound = 2 * lab.options.ttl_s + lab.options.interval_s;
  return {
    scenario: scenario.name,
    outage: scenario.outage,
    store_reachable: scenario.storeReachable,
    ...verdict,
    leaderless_bound_s: bound,
    within_bound: !scenario.storeReachable || verdict.max_leaderless_s <= bound,
    takeovers: new Set(watch.leases.map((l) => l.token)).size - 1,
    duration_s: Math.round(now() - started),
  };
}
