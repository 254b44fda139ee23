import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { childPids, lastLogLines, waitUntil } from '../process.js';
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
  /** Resolves once a lease read after `at` (Unix seconds) is live: some controller leads through the store again. */
  leaseLiveSince(at: number): Promise<void>;
  /** Records when the scenario reached a phase of its own (reported in `phases`). */
  reached(phase: string): void;
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
  /** Seconds from the scenario's start at which each of its phases was reached (where the time went). */
  phases: Record<string, number>;
}

const now = () => Date.now() / 1000;
const STEPS = ['fence-old', 'promote', 'switch-dns'];

/** Reads the lease and the journal through the store's Unix socket every 100 ms, whatever the partitions. */
function observe(lab: MultiHostLab, schema: string) {
  // Through the current primary's socket: after a store failover, a pool on the promoted one.
  let pool: pg.Pool | undefined;
  let poolUrl = '';
  const current = () => {
    if (!pool || poolUrl !== lab.store.socketUrl) {
      void pool?.end().catch(() => undefined);
      poolUrl = lab.store.socketUrl;
      pool = new pg.Pool({ connectionString: poolUrl, max: 2, options: `-c search_path=${schema}` });
      pool.on('error', () => undefined);
    }
    return pool;
  };
  const leases: LeaseSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await current()
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
    current()
      .query<{ id: string; status: string; created_at: number }>(
        'SELECT id, status, created_at FROM runbook_runs',
      )
      .then(
        (r) => r.rows.map((row) => ({ ...row, created_at: Number(row.created_at) })),
        () => [],
      );
  return {
    leases,
    runs,
    async stop() {
      stopped = true;
      await loop;
      await current()
        .query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        .catch(() => undefined);
      await current()
        .end()
        .catch(() => undefined);
    },
  };
}

/** Three controllers on one store schema, and the harness's watch over their lease and journal. */
export interface ControllerSet {
  schema: string;
  processes: ControllerProcess[];
  watch: ReturnType<typeof observe>;
}

/** Starts the three controllers (all --standby) on a fresh schema and starts watching it. */
export function startControllerSet(lab: MultiHostLab, name: string, logDir: string): ControllerSet {
  const schema = `mh_${name.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  const processes = lab.startControllers(schema, join(logDir, name));
  return { schema, processes, watch: observe(lab, schema) };
}

/** Every process below `pid` (a controller's runbook steps run in process groups of their own). */
function descendants(pid: number): number[] {
  return childPids(pid).flatMap((child) => [child, ...descendants(child)]);
}

/** Kills the controllers and what their steps still run (SIGCONT first: a paused one must die too), then drops the schema. */
export async function stopControllerSet(set: ControllerSet): Promise<void> {
  for (const c of set.processes) {
    const pids = [c.child.pid!, ...descendants(c.child.pid!)];
    for (const pid of pids)
      for (const sig of ['SIGCONT', 'SIGKILL'] as const)
        try {
          process.kill(pid, sig);
        } catch {
          // gone
        }
  }
  await Promise.all(set.processes.map((c) => c.exit));
  await set.watch.stop();
}

function faultContext(
  lab: MultiHostLab,
  controllers: ControllerProcess[],
  watch: ReturnType<typeof observe>,
  within: (ms: number) => number,
  since: number,
  reached: (phase: string) => void,
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
        within(120_000),
        `a leader newer than token ${token}`,
        50,
      ),
    runSucceeded: () =>
      waitUntil(
        async () => (await watch.runs()).some((r) => r.status === 'succeeded' && r.created_at >= since),
        within(180_000),
        'the failover run to succeed',
        200,
      ),
    leaseLiveSince: (at) =>
      waitUntil(
        () => {
          const l = last();
          return !!l && l.at > at && l.expires_at > now();
        },
        within(120_000),
        'a live lease on the store again',
        50,
      ),
    reached,
    ttl_s: lab.options.ttl_s,
    interval_s: lab.options.interval_s,
    pause: (s) => new Promise((r) => setTimeout(r, s * 1000)),
  };
}

export interface RunOptions {
  /**
   * Controllers still running from the schedule's previous scenario, reused instead of three new ones
   * (the CI's short schedule: each start of three controllers costs tens of seconds on a loaded machine).
   * The caller stops them. Only after a scenario that left every controller alive and no run behind.
   */
  controllers?: ControllerSet;
  /**
   * Unix ms by which every wait must be over (a test file's budget): a machine too slow for it fails
   * with the scenario, the phases it reached and the controllers' last words, not by the runner's timeout.
   */
  deadlineMs?: number;
}

/**
 * One scenario: three controllers (new ones on a fresh schema, or the schedule's running ones), the
 * primary goes down (or stays healthy), the nemesis strikes once the failover is inside its slow step
 * (or after a few healthy cycles), every fault ends, and the checker reads what happened.
 */
export async function runScenario(
  lab: MultiHostLab,
  scenario: Scenario,
  logDir: string,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const started = now();
  const within = (ms: number) =>
    options.deadlineMs === undefined ? ms : Math.max(1_000, Math.min(ms, options.deadlineMs - Date.now()));
  const set = options.controllers ?? startControllerSet(lab, scenario.name, logDir);
  const { processes: controllers, watch } = set;
  const effects = () => lab.effects().filter((e) => e.at >= started);
  const { ttl_s, interval_s, promote_s } = lab.options;
  let leaderLostAt: number | undefined;
  let runs: Array<{ id: string; status: string }> = [];
  const phases: Record<string, number> = {};
  const reached = (phase: string) => (phases[phase] = Math.round((now() - started) * 10) / 10);
  const ctx = faultContext(lab, controllers, watch, within, started, reached);
  try {
    await waitUntil(
      () => (watch.leases.at(-1)?.expires_at ?? 0) > now(),
      within(120_000),
      'a leader (a live lease)',
      50,
    );
    reached('leader');
    if (scenario.outage) {
      await lab.fabric.link('primary', false);
      await waitUntil(
        () => effects().some((e) => e.step === 'promote' && e.phase === 'start'),
        within(120_000),
        'the failover to reach promote',
        50,
      );
      reached('promote_started');
    } else await ctx.pause(3 * interval_s);
    leaderLostAt = await scenario.fault(ctx);
    reached('fault_over');
    const healedAt = now();
    await lab.fabric.heal(scenario.outage ? ['primary'] : []);
    if (scenario.outage) {
      await ctx.runSucceeded();
      reached('run_succeeded');
      await lab.fabric.link('primary', true);
    }
    // Settled once what a stale controller or its step still had in flight has landed: every step
    // started has said done, or has been going for longer than the slow step takes (its process was
    // killed with its controller's lease); and a stale controller has had its lease's lifetime twice
    // over since the heal to act on an old view (a decision then shows in the journal within a cycle).
    const inFlight = () =>
      effects().filter(
        (s) =>
          s.phase === 'start' &&
          now() - s.at < promote_s + 2 * interval_s &&
          !effects().some(
            (d) =>
              d.phase === 'done' &&
              d.run === s.run &&
              d.step === s.step &&
              d.attempt === s.attempt &&
              d.host === s.host,
          ),
      );
    await waitUntil(
      () => inFlight().length === 0 && now() - healedAt >= 2 * ttl_s + interval_s,
      within(60_000),
      'every step in flight to end',
      100,
    );
    reached('settled');
  } catch (error) {
    // The test runner shows this message alone: say which scenario, how far it got and what the controllers last said.
    const logs = controllers.map((c) => `${c.host}: ${lastLogLines(c.logFile, 3)}`).join('\n');
    throw new Error(
      `scenario ${scenario.name} failed after ${Math.round(now() - started)} s (phases reached: ${JSON.stringify(phases)}): ${(error as Error).message}\n${logs}`,
    );
  } finally {
    await lab.fabric.heal();
    runs = (await watch.runs()).filter((r) => r.created_at >= started);
    if (!options.controllers) await stopControllerSet(set);
  }
  const leases = watch.leases.filter((l) => l.at >= started);
  const verdict = check({
    outage: scenario.outage,
    steps: STEPS,
    effects: effects(),
    leases,
    runs,
    leaderLostAt,
  });
  const bound = 2 * ttl_s + interval_s;
  return {
    scenario: scenario.name,
    outage: scenario.outage,
    store_reachable: scenario.storeReachable,
    ...verdict,
    leaderless_bound_s: bound,
    within_bound: !scenario.storeReachable || verdict.max_leaderless_s <= bound,
    takeovers: new Set(leases.map((l) => l.token)).size - 1,
    duration_s: Math.round(now() - started),
    phases,
  };
}
