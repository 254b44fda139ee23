import { EventEmitter } from 'node:events';
import type { Analysis, Decision, IncidentContext, Level } from '../core/index.js';
import type { SiteInput } from '../decision/index.js';
import type { ContextSource, SignalSource } from '../core/ports.js';
import type { PhoenixConfig } from '../config/index.js';
import { DecisionEngine, servingSignals, type DecisionState } from '../decision/index.js';
import { createAnalyzer, type AnalysisInput, type Analyzer } from '../analysis/index.js';
import { scoreSnapshot } from '../scoring/index.js';
import { FencedError, type CycleRecord, type DecisionStateStore, type HistoryStore } from '../store/index.js';
import { silentLogger, type Logger } from '../log/index.js';

/** Called with every decision; the runbook integration starts a failover from here. */
export interface DecisionSink {
  onDecision(decision: Decision, record: CycleRecord): Promise<unknown>;
}

export interface ControllerOptions {
  config: PhoenixConfig;
  signals: SignalSource;
  /** Asked for incident context when the score reaches self_heal or above. */
  context?: ContextSource;
  history?: HistoryStore;
  sink?: DecisionSink;
  logger?: Logger;
  /** Defaults to `createAnalyzer(config.decision.analyzer, config)`. */
  analyzer?: Analyzer;
  /** Unix seconds; tests pass their own. */
  clock?: () => number;
  /** Each scheduled cycle starts up to this many seconds after its slot. */
  jitter_s?: number;
  /** Context gathering gets this long before the cycle goes on without it (default: half the interval). */
  context_timeout_s?: number;
  /** Where the decision core's memory is kept across restarts and takeovers. */
  state?: DecisionStateStore<DecisionState>;
  /**
   * Who may act. Without it this process always acts; with it, only while it holds the
   * lease: a follower probes and decides (its state stays warm) but hands nothing to the
   * sink and saves no state.
   */
  leader?: { currentToken(): number | undefined };
  /**
   * Which site serves users, read from the durable site state at the start of every cycle: the
   * probes (probes.sites) and the decision core's input follow it. Absent: the primary serves.
   */
  site?: () => Promise<SiteInput>;
}

export interface ControllerStats {
  cycles: number;
  /** Slots skipped because the previous cycle was still running. */
  missed_intervals: number;
  failed_cycles: number;
  running: boolean;
}

type CycleListener = (record: CycleRecord) => void;

/**
 * Measures each analysis. The decision core reads no clock, so the time is taken
 * here, around the analyzer it calls; cycles never overlap, so one slot is enough.
 */
class TimedAnalyzer implements Analyzer {
  lastMs?: number;
  /** Replaced when its settings change under a running controller (a secret read late). */
  constructor(public inner: Analyzer) {}
  get name(): string {
    return this.inner.name;
  }
  get gated(): boolean {
    return this.inner.gated;
  }
  wants(level: Level): boolean {
    return this.inner.wants(level);
  }
  async analyze(input: AnalysisInput): Promise<Analysis> {
    const started = performance.now();
    try {
      return await this.inner.analyze(input);
    } finally {
      this.lastMs = Math.round((performance.now() - started) * 100) / 100;
    }
  }
}

/**
 * The live loop: every interval it collects the signals, runs the decision
 * core, records the cycle and tells subscribers. Cycles never overlap; a
 * webhook asking for a cycle while one runs gets the next one, shared with
 * every other caller that asked meanwhile.
 */
export class Controller {
  private readonly engine: DecisionEngine;
  private readonly analyzer: TimedAnalyzer;
  private readonly events = new EventEmitter();
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly interval_s: number;
  private readonly jitter_s: number;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<CycleRecord>;
  private queued?: { promise: Promise<CycleRecord>; reasons: string[] };
  private last?: CycleRecord;
  private stopped = false;
  private started = false;
  private nextSlot = 0;
  private readonly stats: ControllerStats = {
    cycles: 0,
    missed_intervals: 0,
    failed_cycles: 0,
    running: false,
  };

  constructor(private readonly options: ControllerOptions) {
    this.analyzer = new TimedAnalyzer(
      options.analyzer ?? createAnalyzer(options.config.decision.analyzer, options.config),
    );
    this.engine = new DecisionEngine(options.config, this.analyzer);
    this.clock = options.clock ?? (() => Date.now() / 1000);
    this.logger = options.logger ?? silentLogger();
    this.interval_s = options.config.interval_s;
    this.jitter_s = Math.min(options.jitter_s ?? 0, this.interval_s / 2);
    this.events.setMaxListeners(100);
  }

  get analyzerName(): string {
    return this.engine.analyzerName;
  }

  /**
   * The next cycle asks `analyzer` (the same kind, built again from settings that changed: an LLM key
   * that was unreadable at start). A cycle in flight finishes with the one it started with.
   */
  useAnalyzer(analyzer: Analyzer): void {
    this.analyzer.inner = analyzer;
  }

  on(event: 'cycle', listener: CycleListener): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: string, listener: (...args: never[]) => void): this {
    this.events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off(event: 'cycle' | 'error', listener: (...args: never[]) => void): this {
    this.events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** The most recent completed cycle (from this process, or the store's, read on start). */
  latest(): CycleRecord | undefined {
    return this.last;
  }

  status(): ControllerStats {
    return { ...this.stats, running: this.started && !this.stopped };
  }

  /**
   * Starts the schedule: the decision state is restored from the store first (a restart
   * continues the confirmation and remembers the cooldown), then the first cycle runs
   * now and one per interval after it.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.last ??= await this.options.history?.latest().catch(() => undefined);
    await this.restoreState();
    this.nextSlot = this.clock();
    this.schedule(0);
  }

  /** Loads the state the leader last saved (on start, and when this process takes over). */
  async restoreState(): Promise<boolean> {
    if (!this.options.state) return false;
    await this.inFlight?.catch(() => undefined);
    const stored = await this.options.state.load();
    if (!stored) return false;
    this.engine.restore(stored.state);
    this.logger.info(
      { saved_at: stored.at, by_token: stored.token, history: stored.state.history.length },
      'decision state restored from the store',
    );
    return true;
  }

  private async saveState(at: number): Promise<void> {
    if (!this.options.state) return;
    const token = this.options.leader ? this.options.leader.currentToken() : undefined;
    if (this.options.leader && token === undefined) return;
    try {
      await this.options.state.save(this.engine.snapshot(), at, token);
    } catch (error) {
      if (error instanceof FencedError)
        this.logger.error({ err: error }, 'the store refused the decision state');
      else this.logger.error({ err: error }, 'could not save the decision state');
    }
  }

  /** Whether this process may act on its decisions now. */
  private acting(): boolean {
    return !this.options.leader || this.options.leader.currentToken() !== undefined;
  }

  private schedule(delay_s: number): void {
    if (this.stopped) return;
    const jitter = this.jitter_s > 0 ? Math.random() * this.jitter_s : 0;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, (delay_s + jitter) * 1000));
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    try {
      await this.runCycleNow('schedule');
    } catch {
      // Already logged and counted in runCycle.
    }
    if (this.stopped) return;
    // Slots are fixed to the start time, so a slow cycle skips slots rather than drifting.
    const now = this.clock();
    this.nextSlot += this.interval_s;
    if (this.nextSlot <= now) {
      const skipped = Math.floor((now - this.nextSlot) / this.interval_s) + 1;
      this.stats.missed_intervals += skipped;
      this.logger.warn({ skipped, interval_s: this.interval_s }, 'cycle overran its interval; slots skipped');
      this.nextSlot += skipped * this.interval_s;
    }
    this.schedule(this.nextSlot - now);
  }

  /**
   * Runs a cycle as soon as possible. With none running it starts now; with one
   * running, every caller until it ends shares the single cycle that follows.
   */
  runCycleNow(reason = 'manual'): Promise<CycleRecord> {
    if (this.stopped) return Promise.reject(new Error('the controller is stopped'));
    if (!this.inFlight) return this.begin([reason]);
    if (this.queued) {
      if (!this.queued.reasons.includes(reason)) this.queued.reasons.push(reason);
      return this.queued.promise;
    }
    const reasons = [reason];
    const promise = this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        if (this.stopped) throw new Error('the controller stopped before the requested cycle ran');
        return this.begin(reasons);
      });
    this.queued = { promise, reasons };
    return promise;
  }

  private begin(reasons: string[]): Promise<CycleRecord> {
    const run = this.runCycle(reasons.join(', '));
    this.inFlight = run;
    const clear = () => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  private async gatherContext(now: number): Promise<IncidentContext> {
    const source = this.options.context;
    if (!source) return {};
    const timeout_s = this.options.context_timeout_s ?? this.interval_s / 2;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<IncidentContext>((resolve) => {
      timer = setTimeout(() => {
        this.logger.warn({ timeout_s }, 'context gathering timed out; deciding without it');
        resolve({});
      }, timeout_s * 1000);
    });
    try {
      return await Promise.race([
        source.gather(now).catch((error: unknown) => {
          this.logger.warn({ err: error }, 'context gathering failed; deciding without it');
          return {};
        }),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private lastSite?: SiteInput;

  /**
   * The serving site for this cycle. A store that does not answer keeps the last one read: the
   * probes must not swing back to a site that no longer serves because one read failed.
   */
  private async servingSite(): Promise<SiteInput | undefined> {
    if (!this.options.site) return undefined;
    try {
      this.lastSite = await this.options.site();
    } catch (error) {
      this.logger.warn(
        { err: error, active_site: this.lastSite?.active_site },
        'could not read the site state; probing the site last read',
      );
    }
    return this.lastSite;
  }

  private async runCycle(reason: string): Promise<CycleRecord> {
    const at = this.clock();
    const started = performance.now();
    try {
      const site = await this.servingSite();
      const signals = await this.options.signals.collect(at, site?.active_site);
      // Context costs calls to outside services: only ask when the score says something is wrong.
      const preview = scoreSnapshot(
        servingSignals(this.options.config, signals, site).signals,
        this.options.config.scoring,
      );
      const context = preview.level === 'none' ? {} : await this.gatherContext(at);
      this.analyzer.lastMs = undefined;
      const result = await this.engine.cycle({ now: at, signals, context, site });
      const record: CycleRecord = {
        at,
        reason,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        signals,
        score: result.score,
        decision: result.decision,
        analysis: result.analysis,
      };
      if (site) record.site = site.active_site;
      if (result.analysis && this.analyzer.lastMs !== undefined) record.analysis_ms = this.analyzer.lastMs;
      if (preview.level !== 'none') record.context = context;
      if (this.options.history) {
        try {
          record.id = await this.options.history.record(record);
        } catch (error) {
          this.logger.error({ err: error }, 'could not record the cycle in the store');
        }
      }
      await this.saveState(at);
      this.last = record;
      this.stats.cycles++;
      this.logCycle(record);
      for (const listener of this.events.listeners('cycle') as CycleListener[]) {
        try {
          listener(record);
        } catch (error) {
          this.logger.error({ err: error }, 'a cycle subscriber threw');
        }
      }
      if (this.options.sink && !this.acting()) {
        if (record.decision.action !== 'none')
          this.logger.info(
            { action: record.decision.action },
            'follower: the leader acts on decisions, not this process',
          );
      } else if (this.options.sink) {
        try {
          await this.options.sink.onDecision(record.decision, record);
        } catch (error) {
          this.logger.error({ err: error, action: record.decision.action }, 'the decision sink failed');
        }
      }
      return record;
    } catch (error) {
      this.stats.failed_cycles++;
      this.logger.error({ err: error, reason }, 'cycle failed');
      if (this.events.listenerCount('error')) this.events.emit('error', error);
      throw error;
    }
  }

  private logCycle(record: CycleRecord): void {
    const d = record.decision;
    const troubled = Object.entries(record.signals)
      .filter(([, s]) => s.status !== 'ok')
      .map(([name, s]) => `${name}=${s.status}`);
    const fields = {
      cycle: record.id,
      reason: record.reason,
      score: record.score.score,
      level: record.score.level,
      action: d.action,
      category: d.category,
      confidence: d.confidence,
      duration_ms: record.duration_ms,
      ...(record.analysis_ms !== undefined ? { analysis_ms: record.analysis_ms } : {}),
      ...(troubled.length ? { signals: troubled.join(' ') } : {}),
      ...(d.blocked_by.length ? { blocked_by: d.blocked_by } : {}),
    };
    if (d.action === 'none') this.logger.info(fields, `cycle: score ${record.score.score}, no action`);
    else
      this.logger.warn(
        { ...fields, decision_reason: d.reason },
        `cycle: score ${record.score.score}, decision ${d.action}`,
      );
  }

  /** Stops scheduling and waits for the cycle in flight (and one a caller already queued) to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const pending = [this.inFlight, this.queued?.promise].filter(Boolean) as Array<Promise<CycleRecord>>;
    await Promise.allSettled(pending);
  }
}
