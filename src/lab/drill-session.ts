import { loadConfig } from '../config/index.js';
import { Controller, servingSiteOf, type CycleRecord } from '../controller/index.js';
import { ChangeStore, createContextGatherer, type ContextGatherer } from '../context/index.js';
import {
  createRunbookDecisionSink,
  FenceWatcher,
  RUNBOOK_MIGRATIONS,
  type FencePage,
  type RunEvent,
  type RunReport,
} from '../runbook/index.js';
import { createSiteSignalSource } from '../signals/index.js';
import { migrate, openDatabase, HistoryStore, HISTORY_MIGRATIONS } from '../store/index.js';
import { writeLabConfig } from './config.js';
import { SiteStateStore } from '../lifecycle/index.js';
import type { Progress } from './lab.js';
import type { LabState } from './state.js';

export const round = (n: number) => Math.round(n * 100) / 100;

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
