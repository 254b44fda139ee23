import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SITE_STATES } from '../lifecycle/index.js';
import { LEVELS, SIGNAL_STATUSES } from '../core/index.js';
import type { CycleRecord, RunbookReadinessView, RunControl, RunView, ServerDeps } from './ports.js';
import { drReadiness } from './readiness.js';

const TERMINAL = new Set(['succeeded', 'failed', 'aborted']);
const RUN_STATUSES = ['running', 'waiting_approval', 'succeeded', 'failed', 'aborted', 'cleared'];

type Registers = Registry[];

export interface MetricsOptions {
  interval_s?: number;
  runs?: RunControl;
  readiness?: RunbookReadinessView;
  drills?: ServerDeps['drills'];
  processMetrics?: boolean;
  leader?: ServerDeps['leader'];
  site?: ServerDeps['site'];
  /** The store the runbook and drill series are read from: `phoenix_store_up` says whether it answers. */
  store?: ServerDeps['store'];
}

/**
 * The store reads of one scrape. The store is asked once first (a ping, or the run list); when it
 * does not answer, `phoenix_store_up` is 0 and the series read from it are left out, so the scrape
 * still succeeds: Prometheus must see the controller up exactly when its store is the problem.
 */
class StoreReads {
  up = true;

  constructor(private readonly probe: (() => Promise<unknown>) | undefined) {}

  async check(): Promise<void> {
    if (!this.probe) return;
    try {
      await this.probe();
      this.up = true;
    } catch {
      this.up = false;
    }
  }

  async read<T>(work: () => T | Promise<T>, fallback: T): Promise<T> {
    if (!this.up) return fallback;
    try {
      return await work();
    } catch {
      this.up = false;
      return fallback;
    }
  }
}

/** The series each finished cycle sets: what it scored, what it decided and how long it took. */
function cycleSeries(registers: Registers, interval_s: number | undefined) {
  return { ...scoreSeries(registers), ...outcomeSeries(registers, interval_s) };
}

/** The last cycle's score, level and each signal's weight and status. */
function scoreSeries(registers: Registers) {
  return {
    score: new Gauge({
      name: 'phoenix_score',
      help: 'Health score of the last cycle (sum of signal weights)',
      registers,
    }),
    level: new Gauge({
      name: 'phoenix_level',
      help: 'Level of the last cycle: 0 none, 1 self_heal, 2 region_failover, 3 dr_failover',
      registers,
    }),
    levelInfo: new Gauge({
      name: 'phoenix_level_info',
      help: 'The last cycle level as a label (1 for the current level, 0 otherwise)',
      labelNames: ['level'],
      registers,
    }),
    signalWeight: new Gauge({
      name: 'phoenix_signal_weight',
      help: 'Weight each scored signal added to the last score',
      labelNames: ['signal'],
      registers,
    }),
    signalMax: new Gauge({
      name: 'phoenix_signal_weight_max',
      help: 'Highest weight each scored signal can add',
      labelNames: ['signal'],
      registers,
    }),
    signalStatus: new Gauge({
      name: 'phoenix_signal_status',
      help: 'Status of each signal in the last cycle (1 for the current status, 0 otherwise)',
      labelNames: ['signal', 'status'],
      registers,
    }),
  };
}

/** What cycles decided, what started them, how long they and the analyzer took, and DR readiness. */
function outcomeSeries(registers: Registers, interval_s: number | undefined) {
  const series = {
    decisions: new Counter({
      name: 'phoenix_decisions_total',
      help: 'Decisions taken, by action',
      labelNames: ['action'],
      registers,
    }),
    cycles: new Counter({
      name: 'phoenix_cycles_total',
      help: 'Cycles run, by what started them',
      labelNames: ['trigger'],
      registers,
    }),
    lastCycle: new Gauge({
      name: 'phoenix_last_cycle_timestamp_seconds',
      help: 'Unix time of the last finished cycle',
      registers,
    }),
  };
  const interval = new Gauge({
    name: 'phoenix_cycle_interval_seconds',
    help: 'Configured seconds between scheduled cycles',
    registers,
  });
  if (interval_s !== undefined) interval.set(interval_s);
  return {
    ...series,
    analyzerSeconds: new Histogram({
      name: 'phoenix_analyzer_duration_seconds',
      help: 'Time the analyzer took per cycle it ran in',
      labelNames: ['analyzer'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    cycleSeconds: new Histogram({
      name: 'phoenix_cycle_duration_seconds',
      help: 'Time one cycle took: probes, context, analysis and policy',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60],
      registers,
    }),
    drReady: new Gauge({
      name: 'phoenix_dr_ready',
      help: 'Whether a failover to the DR site would land on a ready site (1 ready, 0 not); absent when unknown',
      registers,
    }),
  };
}

/** Runbook runs in the store, read at scrape time. */
function runSeries(registers: Registers, runs: RunControl | undefined, reads: StoreReads): void {
  new Gauge({
    name: 'phoenix_runbook_runs',
    help: 'Runbook runs in the store, by runbook and status',
    labelNames: ['runbook', 'status'],
    registers,
    async collect() {
      this.reset();
      if (!runs) return;
      const list = await reads.read(() => runs.list(500), []);
      for (const run of list) this.inc({ runbook: run.runbook, status: run.status });
    },
  });
  new Gauge({
    name: 'phoenix_runbook_last_run_status',
    help: 'Status of the latest run of each runbook (1 for its status, 0 for the others)',
    labelNames: ['runbook', 'status'],
    registers,
    async collect() {
      this.reset();
      if (!runs) return;
      const latest = new Map<string, string>();
      for (const run of await reads.read(() => runs.list(500), []))
        if (!latest.has(run.runbook)) latest.set(run.runbook, run.status);
      for (const [runbook, current] of latest)
        for (const status of RUN_STATUSES) this.set({ runbook, status }, status === current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'phoenix_runbook_last_run_stages_without_effect',
    help: 'Stages of the latest run of each runbook that did nothing (every step failed, each continue_on_error); a succeeded run may have some',
    labelNames: ['runbook'],
    registers,
    async collect() {
      this.reset();
      if (!runs) return;
      const latest = new Map<string, number>();
      for (const run of await reads.read(() => runs.list(500), []))
        if (!latest.has(run.runbook)) latest.set(run.runbook, run.stages_without_effect?.length ?? 0);
      for (const [runbook, count] of latest) this.set({ runbook }, count);
    },
  });
}

/** Leader election as this controller last read the lease; absent without it. */
function leaderSeries(registers: Registers, leader: ServerDeps['leader']): void {
  new Gauge({
    name: 'phoenix_leader',
    help: 'Whether this controller holds the lease and acts (1) or follows (0); absent without leader election',
    registers,
    collect() {
      this.reset();
      if (leader) this.set(leader().role === 'leader' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'phoenix_leader_info',
    help: 'Who holds the controller lease, as this controller last read it (1 per holder); absent while the lease is free',
    labelNames: ['holder', 'self'],
    registers,
    collect() {
      this.reset();
      const status = leader?.();
      if (status?.leader) this.set({ holder: status.leader, self: String(status.leader === status.self) }, 1);
    },
  });
  new Gauge({
    name: 'phoenix_fencing_token',
    help: 'The fencing token of the controller lease as this controller last read it; absent without leader election',
    registers,
    collect() {
      this.reset();
      const token = leader?.().token;
      if (token !== undefined) this.set(token);
    },
  });
}

/**
 * Which site serves, the site state, and whether the old primary still waits for its fence; read from the store
 * at scrape time, through `reads`: a store that does not answer leaves these series out, not the scrape.
 */
function siteSeries(registers: Registers, site: NonNullable<ServerDeps['site']>, reads: StoreReads): void {
  const current = () => reads.read(() => site.current(), undefined);
  new Gauge({
    name: 'phoenix_active_site',
    help: 'The site serving users (1 for it, 0 for the others): primary, secondary (region failover) or dr',
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      const now = await current();
      if (now)
        for (const name of ['primary', 'secondary', 'dr'])
          this.set({ site: name }, now.active_site === name ? 1 : 0);
    },
  });
  new Gauge({
    name: 'phoenix_site_state',
    help: 'The DR lifecycle state (1 for the current one; see docs/lifecycle.md)',
    labelNames: ['state'],
    registers,
    async collect() {
      this.reset();
      const now = await current();
      if (now) for (const state of SITE_STATES) this.set({ state }, now.state === state ? 1 : 0);
    },
  });
  const flag = (
    name: string,
    help: string,
    value: (now: NonNullable<Awaited<ReturnType<typeof current>>>) => boolean,
  ) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.reset();
        const now = await current();
        if (now) this.set(value(now) ? 1 : 0);
      },
    });
  flag(
    'phoenix_fence_pending',
    'Whether the old primary is not fenced yet (1): the controller fences it when it answers; reprotect and failback wait',
    (now) => now.old_primary?.fence === 'fence_pending',
  );
  flag(
    'phoenix_paused',
    'Whether automation is paused (phoenix pause): decisions recorded, no runbook started (1); expires by itself',
    (now) => Boolean(now.paused),
  );
  flag(
    'phoenix_old_primary_writable',
    'Whether the old primary took writes when last checked while not fenced (1: split-brain risk)',
    (now) => now.old_primary?.fence === 'fence_pending' && Boolean(now.old_primary.writable),
  );
}

/** Scheduled drills: when the last one succeeded and the RTO it measured. */
function drillSeries(
  registers: Registers,
  drills: NonNullable<ServerDeps['drills']>,
  reads: StoreReads,
): void {
  new Gauge({
    name: 'phoenix_drill_last_success_timestamp_seconds',
    help: 'Unix time the last successful scheduled drill finished (0 when none has succeeded)',
    registers,
    async collect() {
      this.reset();
      if (!reads.up) return;
      const last = await reads.read(() => drills.lastSuccess(), undefined);
      if (reads.up) this.set(last?.at ?? 0);
    },
  });
  new Gauge({
    name: 'phoenix_drill_last_rto_seconds',
    help: 'RTO measured by the last successful drill that ran the runbook (mode run); NaN when none measured one',
    registers,
    async collect() {
      // NaN, not 0, when no drill measured one: 0 would read as an instant recovery.
      this.reset();
      if (!reads.up) return;
      const last = await reads.read(() => drills.lastSuccess(), undefined);
      if (reads.up) this.set(last?.rto_s ?? NaN);
    },
  });
  new Gauge({
    name: 'phoenix_drill_last_rto_partial',
    help: 'Whether the RTO of phoenix_drill_last_rto_seconds leaves out steps the drill skipped (1) or covers every step (0)',
    registers,
    async collect() {
      this.reset();
      if (!reads.up) return;
      const last = await reads.read(() => drills.lastSuccess(), undefined);
      if (reads.up && last?.rto_s != null) this.set(last.rto_partial ? 1 : 0);
    },
  });
}

/** The last runbook readiness pass: which runbooks are ready, which checks fail, when it ran. */
function readinessSeries(registers: Registers, readiness: RunbookReadinessView | undefined): void {
  new Gauge({
    name: 'phoenix_runbook_ready',
    help: 'Whether each runbook passed every pre-flight check in the last readiness pass (1 ready, 0 not); absent before the first',
    labelNames: ['runbook'],
    registers,
    collect() {
      this.reset();
      for (const runbook of readiness?.latest()?.runbooks ?? [])
        this.set({ runbook: runbook.runbook }, runbook.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'phoenix_runbook_check_failures',
    help: 'Pre-flight checks failing in the last readiness pass (1 per failing check); step "" is a problem with the runbook itself',
    labelNames: ['runbook', 'stage', 'step', 'check'],
    registers,
    collect() {
      this.reset();
      for (const runbook of readiness?.latest()?.runbooks ?? []) {
        if (runbook.problems.length)
          this.set(
            { runbook: runbook.runbook, stage: '', step: '', check: 'runbook' },
            runbook.problems.length,
          );
        for (const step of runbook.steps)
          for (const check of step.checks)
            if (!check.ok)
              this.inc({ runbook: runbook.runbook, stage: step.stage, step: step.step, check: check.check });
      }
    },
  });
  new Gauge({
    name: 'phoenix_schema_drift_tables',
    help: 'Published tables whose columns differ between publisher and logical subscriber in the last readiness pass, by severity (breaking: the cut-over refuses; warning: it proceeds); absent where not compared',
    labelNames: ['runbook', 'stage', 'step', 'severity'],
    registers,
    collect() {
      this.reset();
      for (const runbook of readiness?.latest()?.runbooks ?? [])
        for (const step of runbook.steps)
          for (const check of step.checks) {
            if (!check.drift) continue;
            const labels = { runbook: runbook.runbook, stage: step.stage, step: step.step };
            this.set({ ...labels, severity: 'breaking' }, check.drift.breaking_tables);
            this.set({ ...labels, severity: 'warning' }, check.drift.warning_tables);
          }
    },
  });
  new Gauge({
    name: 'phoenix_runbook_readiness_timestamp_seconds',
    help: 'Unix time the last runbook readiness pass started (0 before the first)',
    registers,
    collect() {
      this.reset();
      const latest = readiness?.latest();
      if (latest) this.set(latest.checked_at);
    },
  });
}

/**
 * The controller's Prometheus series. Cycle series are set as each cycle
 * finishes; runbook series are read from the runbook store at scrape time, so
 * they survive a restart of the controller.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly cycle: ReturnType<typeof cycleSeries>;
  readonly webhookAlerts: Counter;
  private readonly stageSeconds: Histogram;
  private readonly observedStages = new Set<string>();
  private readonly reads: StoreReads;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const runs = options.runs;
    const reads = new StoreReads(
      options.store?.ping ?? (runs ? () => Promise.resolve(runs.list(1)) : undefined),
    );
    this.reads = reads;
    if (options.store || runs)
      new Gauge({
        name: 'phoenix_store_up',
        help: 'Whether the store answered at this scrape (1) or not (0); series read from it are absent while it is down',
        registers,
        collect() {
          this.set(reads.up ? 1 : 0);
        },
      });
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'phoenix_' });
    this.cycle = cycleSeries(registers, options.interval_s);
    this.webhookAlerts = new Counter({
      name: 'phoenix_webhook_alerts_total',
      help: 'Alertmanager alerts received, by outcome (accepted, duplicate, ignored)',
      labelNames: ['outcome'],
      registers,
    });
    runSeries(registers, runs, reads);
    leaderSeries(registers, options.leader);
    // Only a controller with drills.schedule exports these, so the no-drill alert stays quiet elsewhere.
    if (options.drills) drillSeries(registers, options.drills, reads);
    readinessSeries(registers, options.readiness);
    if (options.site) siteSeries(registers, options.site, reads);
    const observeStages = (run: RunView) => this.observeStages(run);
    this.stageSeconds = new Histogram({
      name: 'phoenix_runbook_stage_duration_seconds',
      help: 'Duration of finished runbook stages',
      labelNames: ['runbook', 'stage', 'status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
      async collect() {
        if (!runs) return;
        for (const run of await reads.read(() => runs.list(500), [])) observeStages(run);
      },
    });
  }

  private observeStages(run: RunView): void {
    for (const stage of run.stages) {
      if (!TERMINAL.has(stage.status) || stage.started_at === undefined || stage.finished_at === undefined)
        continue;
      const key = `${run.id}\u0000${stage.name}`;
      if (this.observedStages.has(key)) continue;
      this.observedStages.add(key);
      this.stageSeconds.observe(
        { runbook: run.runbook, stage: stage.name, status: stage.status },
        Math.max(0, stage.finished_at - stage.started_at),
      );
    }
  }

  /** Records one finished cycle. */
  observeCycle(record: CycleRecord): void {
    this.showCycle(record);
    this.cycle.decisions.inc({ action: record.decision.action });
    this.cycle.cycles.inc({ trigger: triggerLabel(record.reason) });
    // The controller times the whole analysis (an LLM call included) as analysis_ms.
    if (record.analysis && numeric(record.analysis_ms) !== undefined)
      this.cycle.analyzerSeconds.observe({ analyzer: record.analysis.analyzer }, record.analysis_ms! / 1000);
    if (record.duration_ms !== undefined) this.cycle.cycleSeconds.observe(record.duration_ms / 1000);
  }

  /** Sets the gauges from a cycle without counting it (the stored last cycle, at start-up). */
  showCycle(record: CycleRecord): void {
    this.cycle.score.set(record.score.score);
    this.cycle.level.set(LEVELS.indexOf(record.score.level));
    for (const level of LEVELS) this.cycle.levelInfo.set({ level }, level === record.score.level ? 1 : 0);
    for (const c of record.score.contributions) {
      this.cycle.signalWeight.set({ signal: c.signal }, c.weight);
      this.cycle.signalMax.set({ signal: c.signal }, c.max);
    }
    for (const [name, signal] of Object.entries(record.signals)) {
      for (const status of SIGNAL_STATUSES)
        this.cycle.signalStatus.set({ signal: name, status }, signal.status === status ? 1 : 0);
    }
    this.cycle.lastCycle.set(record.at);
    const dr = drReadiness(record);
    if (dr.source === 'unknown') this.cycle.drReady.reset();
    else this.cycle.drReady.set(dr.ready ? 1 : 0);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    await this.reads.check();
    return this.registry.metrics();
  }
}

function numeric(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Keeps the label's values few: the free-text reason is not a label. */
function triggerLabel(reason: string | undefined): string {
  if (!reason || reason === 'schedule' || reason.startsWith('interval')) return 'schedule';
  if (reason.startsWith('alertmanager')) return 'alertmanager';
  return 'manual';
}
