import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LEVELS, SIGNAL_STATUSES } from '../core/index.js';
import type { CycleRecord, RunbookReadinessView, RunControl, RunView, ServerDeps } from './ports.js';
import { drReadiness } from './readiness.js';

const TERMINAL = new Set(['succeeded', 'failed', 'aborted']);
const RUN_STATUSES = ['running', 'waiting_approval', 'succeeded', 'failed', 'aborted', 'cleared'];

/**
 * The controller's Prometheus series. Cycle series are set as each cycle
 * finishes; runbook series are read from the runbook store at scrape time, so
 * they survive a restart of the controller.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly score: Gauge;
  private readonly level: Gauge;
  private readonly levelInfo: Gauge;
  private readonly signalWeight: Gauge;
  private readonly signalMax: Gauge;
  private readonly signalStatus: Gauge;
  private readonly decisions: Counter;
  private readonly cycles: Counter;
  private readonly lastCycle: Gauge;
  private readonly analyzerSeconds: Histogram;
  private readonly cycleSeconds: Histogram;
  private readonly drReady: Gauge;
  readonly webhookAlerts: Counter;
  private readonly stageSeconds: Histogram;
  private readonly observedStages = new Set<string>();

  constructor(
    options: {
      interval_s?: number;
      runs?: RunControl;
      readiness?: RunbookReadinessView;
      drills?: ServerDeps['drills'];
      processMetrics?: boolean;
      leader?: ServerDeps['leader'];
    } = {},
  ) {
    const registers = [this.registry];
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'phoenix_' });
    this.score = new Gauge({
      name: 'phoenix_score',
      help: 'Health score of the last cycle (sum of signal weights)',
      registers,
    });
    this.level = new Gauge({
      name: 'phoenix_level',
      help: 'Level of the last cycle: 0 none, 1 self_heal, 2 region_failover, 3 dr_failover',
      registers,
    });
    this.levelInfo = new Gauge({
      name: 'phoenix_level_info',
      help: 'The last cycle level as a label (1 for the current level, 0 otherwise)',
      labelNames: ['level'],
      registers,
    });
    this.signalWeight = new Gauge({
      name: 'phoenix_signal_weight',
      help: 'Weight each scored signal added to the last score',
      labelNames: ['signal'],
      registers,
    });
    this.signalMax = new Gauge({
      name: 'phoenix_signal_weight_max',
      help: 'Highest weight each scored signal can add',
      labelNames: ['signal'],
      registers,
    });
    this.signalStatus = new Gauge({
      name: 'phoenix_signal_status',
      help: 'Status of each signal in the last cycle (1 for the current status, 0 otherwise)',
      labelNames: ['signal', 'status'],
      registers,
    });
    this.decisions = new Counter({
      name: 'phoenix_decisions_total',
      help: 'Decisions taken, by action',
      labelNames: ['action'],
      registers,
    });
    this.cycles = new Counter({
      name: 'phoenix_cycles_total',
      help: 'Cycles run, by what started them',
      labelNames: ['trigger'],
      registers,
    });
    this.lastCycle = new Gauge({
      name: 'phoenix_last_cycle_timestamp_seconds',
      help: 'Unix time of the last finished cycle',
      registers,
    });
    const interval = new Gauge({
      name: 'phoenix_cycle_interval_seconds',
      help: 'Configured seconds between scheduled cycles',
      registers,
    });
    if (options.interval_s !== undefined) interval.set(options.interval_s);
    this.analyzerSeconds = new Histogram({
      name: 'phoenix_analyzer_duration_seconds',
      help: 'Time the analyzer took per cycle it ran in',
      labelNames: ['analyzer'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.cycleSeconds = new Histogram({
      name: 'phoenix_cycle_duration_seconds',
      help: 'Time one cycle took: probes, context, analysis and policy',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60],
      registers,
    });
    this.drReady = new Gauge({
      name: 'phoenix_dr_ready',
      help: 'Whether a failover to the DR site would land on a ready site (1 ready, 0 not); absent when unknown',
      registers,
    });
    this.webhookAlerts = new Counter({
      name: 'phoenix_webhook_alerts_total',
      help: 'Alertmanager alerts received, by outcome (accepted, duplicate, ignored)',
      labelNames: ['outcome'],
      registers,
    });
    const runs = options.runs;
    const observeStages = (run: RunView) => this.observeStages(run);
    new Gauge({
      name: 'phoenix_runbook_runs',
      help: 'Runbook runs in the store, by runbook and status',
      labelNames: ['runbook', 'status'],
      registers,
      async collect() {
        this.reset();
        if (!runs) return;
        const list = await runs.list(500);
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
        for (const run of await runs.list(500))
          if (!latest.has(run.runbook)) latest.set(run.runbook, run.status);
        for (const [runbook, current] of latest)
          for (const status of RUN_STATUSES) this.set({ runbook, status }, status === current ? 1 : 0);
      },
    });
    const leader = options.leader;
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
        if (status?.leader)
          this.set({ holder: status.leader, self: String(status.leader === status.self) }, 1);
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
    const readiness = options.readiness;
    // Only a controller with drills.schedule exports these, so the no-drill alert stays quiet elsewhere.
    if (options.drills) this.drillGauges(options.drills, registers);
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
                this.inc({
                  runbook: runbook.runbook,
                  stage: step.stage,
                  step: step.step,
                  check: check.check,
                });
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
    this.stageSeconds = new Histogram({
      name: 'phoenix_runbook_stage_duration_seconds',
      help: 'Duration of finished runbook stages',
      labelNames: ['runbook', 'stage', 'status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
      async collect() {
        if (!runs) return;
        for (const run of await runs.list(500)) observeStages(run);
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
  private drillGauges(drills: NonNullable<ServerDeps['drills']>, registers: Registry[]): void {
    new Gauge({
      name: 'phoenix_drill_last_success_timestamp_seconds',
      help: 'Unix time the last successful scheduled drill finished (0 when none has succeeded)',
      registers,
      async collect() {
        this.set((await drills.lastSuccess())?.at ?? 0);
      },
    });
    new Gauge({
      name: 'phoenix_drill_last_rto_seconds',
      help: 'RTO measured by the last successful drill that ran the runbook (mode run); NaN when none measured one',
      registers,
      async collect() {
        // NaN, not 0, when no drill measured one: 0 would read as an instant recovery.
        this.set((await drills.lastSuccess())?.rto_s ?? NaN);
      },
    });
  }

  observeCycle(record: CycleRecord): void {
    this.showCycle(record);
    this.decisions.inc({ action: record.decision.action });
    this.cycles.inc({ trigger: triggerLabel(record.reason) });
    // The controller times the whole analysis (an LLM call included) as analysis_ms.
    if (record.analysis && numeric(record.analysis_ms) !== undefined)
      this.analyzerSeconds.observe({ analyzer: record.analysis.analyzer }, record.analysis_ms! / 1000);
    if (record.duration_ms !== undefined) this.cycleSeconds.observe(record.duration_ms / 1000);
  }

  /** Sets the gauges from a cycle without counting it (the stored last cycle, at start-up). */
  showCycle(record: CycleRecord): void {
    this.score.set(record.score.score);
    this.level.set(LEVELS.indexOf(record.score.level));
    for (const level of LEVELS) this.levelInfo.set({ level }, level === record.score.level ? 1 : 0);
    for (const c of record.score.contributions) {
      this.signalWeight.set({ signal: c.signal }, c.weight);
      this.signalMax.set({ signal: c.signal }, c.max);
    }
    for (const [name, signal] of Object.entries(record.signals)) {
      for (const status of SIGNAL_STATUSES)
        this.signalStatus.set({ signal: name, status }, signal.status === status ? 1 : 0);
    }
    this.lastCycle.set(record.at);
    const dr = drReadiness(record);
    if (dr.source === 'unknown') this.drReady.reset();
    else this.drReady.set(dr.ready ? 1 : 0);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
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
