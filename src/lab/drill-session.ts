import { loadConfig } from '../config/index.js';
import { Controller, servingSiteOf, type CycleRecord } from '../controller/index.js';
import { ChangeStore, createContextGatherer, type ContextGatherer } from '../context/index.js';
import {
  createRunbookDecisionSink,
  FenceWatcher,
  RunbookEngine,
  RUNBOOK_MIGRATIONS,
  type FencePage,
  type RunEvent,
  type RunReport,
} from '../runbook/index.js';
import type { PhoenixConfig } from '../config/index.js';
import { createSiteSignalSource } from '../signals/index.js';
import { migrate, openDatabase, HistoryStore, HISTORY_MIGRATIONS } from '../store/index.js';
import { writeLabConfig } from './config.js';
import { SiteStateStore, type SiteEventRecord } from '../lifecycle/index.js';
import type { Progress } from './lab.js';
import type { LabState } from './state.js';

export const round = (n: number) => Math.round(n * 100) / 100;

/** One change of the site state, as the site journal recorded it, with who or what caused it. */
export interface SiteTransition {
  from: string;
  to: string;
  by: string;
  reason: string;
}

/** The journal's changes of state or fence (pauses and repeated looks left out), oldest first. */
export function siteTransitions(events: SiteEventRecord[]): SiteTransition[] {
  return events
    .filter((e) => e.from_state !== e.to_state && e.event.type !== 'paused' && e.event.type !== 'resumed')
    .map((e) => ({ from: e.from_state, to: e.to_state, by: e.caused_by, reason: e.reason }));
}

/** The states the transitions went through, in order, without the old primary's fence (`dr_active (old primary: fenced)` → `dr_active`). */
export function siteStates(transitions: SiteTransition[]): string[] {
  const states: string[] = [];
  for (const t of transitions)
    for (const label of states.length ? [t.to] : [t.from, t.to]) {
      const state = label.split(' ')[0]!;
      if (states.at(-1) !== state) states.push(state);
    }
  return states;
}

/**
 * The controller a drill runs against its lab, with what the drill watches: every cycle (and when it was
 * seen), each runbook stage's duration, and the run the controller started. Scenarios (./scenarios) use
 * it to wait for events, never for time.
 */
export class DrillSession {
  readonly stages: Array<{ name: string; seconds: number }> = [];
  readonly cycles: Array<{ record: CycleRecord; seenAt: number }> = [];
  run?: Promise<RunReport>;
  /** The drill's client, for scenarios that count what it wrote (failback). */
  writer?: {
    readonly acked: ReadonlyArray<{ id: string; client_key: string; key: string; site: string; at: number }>;
    readonly failures: ReadonlyArray<{ at: number; address?: string; reason: string }>;
    readonly lookups: ReadonlyArray<{ at: number; address?: string; ttl?: number }>;
  };
  /** When the fault was injected (performance.now()). */
  onset = 0;
  readonly changes: ChangeStore;
  /** The controller's context sources; `lastReport` says how each did in the last cycle (and where from). */
  readonly context: ContextGatherer;
  /** The site state the controller keeps (docs/lifecycle.md), and what its fence watch paged. */
  readonly sites: SiteStateStore;
  readonly pages: FencePage[] = [];
  private readonly controller: Controller;
  private readonly db: ReturnType<typeof openDatabase>;
  private onCycle?: (record: CycleRecord) => void;
  private readonly interrupted: Promise<never>;

  constructor(
    readonly state: LabState,
    readonly interval: number,
    readonly progress: Progress,
    readonly signal?: AbortSignal,
    configure?: (config: Record<string, unknown>) => void,
  ) {
    const config = loadConfig(writeLabConfig(state, { interval_s: interval }, configure));
    this.db = openDatabase(config.store.path);
    migrate(this.db, [...HISTORY_MIGRATIONS.sqlite, ...RUNBOOK_MIGRATIONS.sqlite]);
    this.changes = ChangeStore.on(this.db);
    this.context = createContextGatherer(config, { changes: this.changes });
    this.sites = new SiteStateStore(this.db);
    const sink = createRunbookDecisionSink({
      db: this.db,
      config,
      autoApprove: true,
      onEvent: this.stageTimer(),
      workDir: state.dir,
      sites: this.sites,
    });
    // The fence that waits, as `phoenix run` has it: after each cycle, an unfenced old primary is looked at.
    const watcher = new FenceWatcher({
      sites: this.sites,
      engine: sink.engine,
      config,
      page: async (page) => void this.pages.push(page),
    });
    this.controller = new Controller({
      config,
      signals: createSiteSignalSource(config),
      context: this.context,
      history: new HistoryStore(this.db),
      site: servingSiteOf(this.sites),
      sink: {
        onDecision: async (decision: CycleRecord['decision'], record: CycleRecord) => {
          const outcome = await sink.onDecision(decision, record);
          if ((outcome.kind === 'started' || outcome.kind === 'joined') && !this.run)
            this.run = outcome.handle.done;
          return outcome;
        },
      },
    });
    this.controller.on('cycle', (record) => this.seen(record));
    this.controller.on('cycle', () => void watcher.check().catch(() => undefined));
    this.interrupted = new Promise<never>((_, reject) => {
      const stop = () => reject(new Error(`interrupted (${String(signal?.reason ?? 'stopped')})`));
      if (signal?.aborted) stop();
      else signal?.addEventListener('abort', stop, { once: true });
    });
    this.interrupted.catch(() => undefined);
  }

  private stageTimer(): (event: RunEvent) => void {
    const started = new Map<string, number>();
    return (event) => {
      if (event.type === 'stage' && event.status === 'running') {
        started.set(event.stage, performance.now());
        this.progress(`  runbook: stage ${event.stage} …`);
      } else if (event.type === 'stage' && started.has(event.stage)) {
        const seconds = round((performance.now() - started.get(event.stage)!) / 1000);
        this.stages.push({ name: event.stage, seconds });
        this.progress(`  runbook: stage ${event.stage} ${event.status} in ${seconds} s`);
      } else if (event.type === 'step' && (event.status === 'failed' || event.status === 'retrying')) {
        this.progress(
          `  runbook: step ${event.step} ${event.status}${event.error ? `: ${event.error}` : ''}`,
        );
      }
    };
  }

  private seen(record: CycleRecord): void {
    this.cycles.push({ record, seenAt: performance.now() });
    const d = record.decision;
    this.progress(
      `  cycle: score ${record.score.score} (${record.score.level}) → ${d.action}` +
        (d.action === 'none' && record.score.level === 'none'
          ? ''
          : ` [${d.category}, ${d.confidence}] ${d.reason}`),
    );
    this.onCycle?.(record);
  }

  async start(): Promise<void> {
    await this.controller.start();
  }

  /**
   * A runbook engine on the controller's store that moves the same site state, as `phoenix reprotect`
   * and `phoenix failback` run beside `phoenix run`: `config` holds the runbooks (the way back's).
   */
  engine(config: PhoenixConfig, onEvent: (event: RunEvent) => void): RunbookEngine {
    return new RunbookEngine({
      db: this.db,
      config,
      autoApprove: true,
      workDir: this.state.dir,
      onEvent,
      sites: this.sites,
    });
  }

  /** Whether the site state says the old primary is fenced before `timeoutMs` (the controller's fence watch fences it). */
  async untilFenced(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && !this.signal?.aborted) {
      if ((await this.sites.current()).old_primary?.fence === 'fenced') return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** How many cycles decided each action for a site other than the primary while it served. */
  decisionsWhileDrServed(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { record } of this.cycles)
      if (record.site && record.site !== 'primary')
        counts[record.decision.action] = (counts[record.decision.action] ?? 0) + 1;
    return counts;
  }

  /** The site journal's transitions (state changes only: looks at the old primary that found nothing new are left out). */
  async siteTransitions(): Promise<SiteTransition[]> {
    return siteTransitions(await this.sites.events());
  }

  /** A promise that also ends when the drill is stopped (Ctrl-C). */
  orInterrupt<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.interrupted]);
  }

  /** The first cycle from now on that passes `test`. */
  waitFor(test: (r: CycleRecord) => boolean, timeoutMs: number, what: string): Promise<CycleRecord> {
    return this.orInterrupt(
      new Promise<CycleRecord>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.onCycle = undefined;
          reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
        }, timeoutMs);
        this.signal?.addEventListener('abort', () => clearTimeout(timer), { once: true });
        this.onCycle = (r) => {
          if (!test(r)) return;
          clearTimeout(timer);
          this.onCycle = undefined;
          resolve(r);
        };
      }),
    );
  }

  /** Seconds since the fault. */
  since(t: number): number {
    return round((t - this.onset) / 1000);
  }

  after(): Array<{ record: CycleRecord; seenAt: number }> {
    return this.cycles.filter((c) => c.seenAt > this.onset);
  }

  async stop(): Promise<void> {
    await this.controller.stop().catch(() => undefined);
  }

  close(): void {
    this.db.close();
  }
}
