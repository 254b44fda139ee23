import { Cron } from 'croner';
import type { PhoenixConfig } from '../config/index.js';
import { buildPlan, checkPlan, type RunbookEngine, type RunReport } from '../runbook/index.js';
import { buildReport, DRILL_TRIGGER } from '../runbook/index.js';
import { DrillStore, type DrillResult, type DrillRow } from './store.js';

export interface DrillSchedulerOptions {
  config: PhoenixConfig;
  store: DrillStore;
  /** Only the acting controller drills: checked at every due time. */
  isLeader: () => boolean;
  /** For `mode: run`: the controller's runbook engine. */
  engine?: RunbookEngine;
  /** Unix seconds; tests pass their own. */
  now?: () => number;
}

/** The readiness mode: every step's pre-flight check, as a run report whose steps are the checks. */
async function readinessDrill(config: PhoenixConfig, runbook: string, started: number): Promise<DrillResult> {
  const plan = buildPlan(config, runbook);
  const result = await checkPlan(plan);
  const finished = Date.now() / 1000;
  const failing = result.steps.filter((s) => !s.ok);
  const report: RunReport = {
    run_id: `${runbook} readiness`,
    runbook,
    status: result.ok ? 'succeeded' : 'failed',
    trigger: 'drill schedule',
    reason: 'scheduled drill (readiness: pre-flight checks only, nothing changed)',
    decision: null,
    cooldown_override: null,
    started_at: started,
    finished_at: finished,
    total_s: Math.round((finished - started) * 1000) / 1000,
    stages: plan.stages.map((stage) => ({
      name: stage.name,
      status: result.steps.every((s) => s.stage !== stage.name || s.ok) ? 'succeeded' : 'failed',
      duration_s: null,
    })),
    // Pre-flight checks change nothing, so no stage can have done nothing for the run's sake.
    stages_without_effect: [],
    steps: result.steps.map((s) => ({
      name: s.step,
      stage: s.stage,
      type: s.type,
      status: s.ok ? 'succeeded' : 'failed',
      attempts: 1,
      duration_s: null,
      summary: s.summary,
      error: s.ok
        ? null
        : s.checks
            .filter((c) => !c.ok)
            .map((c) => `${c.check}: ${c.detail}`)
            .join('; '),
    })),
    dns_ttl_s: null,
    rto_s: null,
    data_loss_s: null,
    error: result.ok ? null : [...result.problems, ...failing.map((s) => `${s.step} not ready`)].join('; '),
    approvals: [],
  };
  const detail = result.ok
    ? `${result.steps.length} steps passed their pre-flight checks`
    : `${failing.length} of ${result.steps.length} steps failed their pre-flight checks`;
  return { status: result.ok ? 'succeeded' : 'failed', detail, report };
}

/**
 * The run mode: the runbook in drill mode through the engine (trigger drill: each step rehearses on drill
 * resources, and cleans them up); its measured RTO is the drill's. A drill whose cleanup left anything
 * behind failed.
 */
async function runDrill(engine: RunbookEngine, runbook: string): Promise<DrillResult> {
  const handle = await engine.start(runbook, { trigger: DRILL_TRIGGER, reason: 'scheduled drill' });
  await handle.done.catch(() => undefined);
  const report = await buildReport(engine.journal, handle.runId);
  const cleanup = report.cleanup;
  const cleaned = !cleanup || cleanup.status === 'succeeded' || cleanup.status === 'nothing_to_clean';
  const skipped = report.drill_skipped ?? [];
  const partial = skipped.length
    ? `; RTO partial: skipped ${skipped.map((s) => `${s.step} (${s.why})`).join('; ')}`
    : '';
  return {
    status: report.status === 'succeeded' && cleaned ? 'succeeded' : 'failed',
    run_id: handle.runId,
    rto_s: report.rto_s,
    skipped,
    cleanup: cleanup
      ? `${cleanup.status === 'succeeded' ? '' : `${cleanup.status}: `}${cleanup.detail}`
      : null,
    detail: `run ${handle.runId}: ${report.status}${report.error ? ` — ${report.error}` : ''}${cleaned ? '' : `; cleanup ${cleanup!.status}`}${partial}`,
  };
}

/**
 * Runs `drills.runbook` at each time of `drills.schedule` (croner), on the acting controller only;
 * each slot is claimed in the store first, so a restart or a second controller never runs it twice.
 */
export class DrillScheduler {
  private readonly cron: Cron;
  private timer?: NodeJS.Timeout;
  private running?: Promise<DrillRow | undefined>;
  private readonly now: () => number;

  constructor(private readonly options: DrillSchedulerOptions) {
    const drills = options.config.raw.drills!;
    this.cron = new Cron(drills.schedule, { paused: true, timezone: drills.timezone ?? 'UTC' });
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  /** The next scheduled time after `after` (Unix seconds). */
  nextDue(after = this.now()): number | undefined {
    const next = this.cron.nextRun(new Date(after * 1000));
    return next ? next.getTime() / 1000 : undefined;
  }

  /** Runs the drill of slot `scheduledFor` unless this process does not lead or the slot was taken. */
  async runSlot(scheduledFor: number | null): Promise<DrillRow | undefined> {
    if (!this.options.isLeader()) return undefined;
    const { runbook = 'dr_failover', mode = 'readiness' } = this.options.config.raw.drills ?? {};
    const claimed = await this.options.store.claim(runbook, mode, scheduledFor, this.now());
    if (!claimed) return undefined;
    let result: DrillResult;
    try {
      if (mode === 'run') {
        if (!this.options.engine) throw new Error('mode run needs the runbook engine (configure runbooks)');
        result = await runDrill(this.options.engine, runbook);
      } else result = await readinessDrill(this.options.config, runbook, claimed.started_at);
    } catch (error) {
      result = { status: 'failed', detail: (error as Error).message };
    }
    return this.options.store.finish(claimed.id, result, this.now());
  }

  start(): void {
    const due = this.nextDue();
    if (due === undefined) return;
    const wait = Math.max(0, due - this.now()) * 1000;
    // setTimeout holds at most 2^31-1 ms (~24.8 days); a later slot re-arms on the way.
    this.timer = setTimeout(
      () => {
        if (this.now() + 1 < due) return this.start();
        this.running = this.runSlot(due).finally(() => this.start());
      },
      Math.min(wait, 2 ** 31 - 1),
    );
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
