import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PhoenixConfig } from '../config/index.js';
import type { SqlDb, SqliteDatabase } from '../store/index.js';
import { trackProcessGroups, type StepContext, type StepResult } from '../actions/index.js';
import { FencedError } from '../store/index.js';
import {
  CooldownError,
  currentOwner,
  Journal,
  RunBusyError,
  RunStateError,
  type Fence,
  type Owner,
  type RunDecision,
  type RunRow,
  type RunStatus,
  stepStateIn,
} from './journal.js';
import {
  buildPlan,
  fencedFailover,
  planShape,
  shapeMismatch,
  type Plan,
  type PlannedStage,
  type PlannedStep,
  type PlanShape,
} from './plan.js';
import { buildReport, type RunReport } from './report.js';
import { StepProcesses } from './processes.js';
import { SiteStateHook } from './site-state.js';
import type { SiteStateStore } from '../lifecycle/index.js';
import { cleanupDrill, DRILL_TRIGGER, isDrillRun, lastRealRun, rehearseStep } from './drill-mode.js';

type StepOutcome = { ok: boolean; error?: string; endRun?: string; step: string };

/** What the engine reports while it works, for the terminal's task list and the dashboard. */
export type RunEvent =
  | {
      type: 'run';
      runId: string;
      runbook: string;
      status: RunStatus;
      resumed?: boolean;
      error?: string;
      /** At the end: stages that did nothing (every step that ran failed, each continue_on_error). */
      without_effect?: Array<{ stage: string; failed_steps: string[] }>;
    }
  | {
      type: 'stage';
      runId: string;
      stage: string;
      index: number;
      status: 'running' | 'succeeded' | 'failed' | 'skipped';
    }
  | {
      type: 'step';
      runId: string;
      stage: string;
      step: string;
      status: 'running' | 'succeeded' | 'failed' | 'skipped' | 'retrying' | 'aborted';
      attempt?: number;
      resumed?: boolean;
      summary?: string;
      error?: string;
    }
  | { type: 'progress'; runId: string; stage: string; step: string; message: string }
  | { type: 'approval'; runId: string; gate: string; status: 'waiting' | 'approved'; by?: string };

export interface EngineOptions {
  db: SqlDb | SqliteDatabase;
  config: PhoenixConfig;
  /** Approve every gate at once (`phoenix failover --yes`), recorded as such in the journal. */
  autoApprove?: boolean;
  onEvent?: (event: RunEvent) => void;
  /** Unix seconds. */
  clock?: () => number;
  /** How often the owner refreshes its heartbeat and looks for abort and approval requests. */
  pollMs?: number;
  /** Where steps keep files across attempts; defaults beside the store. */
  workDir?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The controller's fence (see Journal): returns its fencing token or throws FencedError.
   * Without it (the CLI's `phoenix failover`) writes are not fenced.
   */
  fence?: Fence;
  /**
   * The site state (docs/lifecycle.md): runs of failover, reprotect, failback and fence runbooks
   * move it, and it refuses reprotect and failback while the old primary is not fenced.
   */
  sites?: SiteStateStore;
}

export interface RunHandle {
  runId: string;
  /** This trigger joined a run that was already active instead of starting one. */
  joined: boolean;
  /** Settles when the run ends (here or, when joined, in whichever process runs it). */
  done: Promise<RunReport>;
}

class RunAborted extends Error {
  constructor(readonly by: string) {
    super(`aborted by ${by}`);
  }
}

class StageFailed extends Error {}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves when `promise` does, or rejects as soon as `signal` fires, whichever is first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolvePromise();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The durable runbook executor. Every stage, step and attempt is journaled before and
 * after it runs; a run resumed after a crash skips what finished and re-runs only the
 * step that was cut short (adapters are written to make that safe).
 */
export class RunbookEngine {
  readonly journal: Journal;
  readonly processes: StepProcesses;
  private readonly pollMs: number;
  private readonly workDir: string;
  /** The abort controllers of the runs this engine executes now. */
  private readonly executing = new Set<AbortController>();
  private readonly site?: SiteStateHook;

  constructor(private readonly options: EngineOptions) {
    const staleAfter = (options.config.raw.runbooks as { stale_after?: number } | undefined)?.stale_after;
    this.journal = new Journal(options.db, options.clock, staleAfter ?? 60, options.fence);
    this.processes = new StepProcesses(options.db, () => this.journal.now(), options.fence);
    this.pollMs = options.pollMs ?? 500;
    if (options.sites) this.site = new SiteStateHook(options.sites, this.journal, options.fence);
    this.workDir =
      options.workDir ??
      (options.config.store.path === ':memory:'
        ? resolve('.phoenix', 'runs')
        : join(dirname(resolve(options.config.store.path)), 'runs'));
  }

  private emit(event: RunEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A broken progress view must not break a failover.
    }
  }

  /**
   * Stops every run this engine executes, without finishing them in the journal (this
   * process lost the lease: the new leader resumes them). Their steps' processes are killed.
   */
  stopAll(reason: Error): void {
    for (const controller of this.executing) controller.abort(reason);
  }

  /**
   * Starts a runbook. While another run is active, a trigger for the same runbook joins
   * it (resuming it if its process is gone); a different runbook is refused with a
   * RunBusyError naming the active run. A runbook that started less than the cooldown
   * (`decision.cooldown`) ago is refused with a CooldownError, whichever process asks,
   * unless `overrideCooldown` gives the operator's reason (kept in the journal).
   */
  async start(
    runbook: string,
    input: { trigger?: string; reason?: string; overrideCooldown?: string; decision?: RunDecision } = {},
  ): Promise<RunHandle> {
    const plan = buildPlan(this.options.config, runbook);
    const owner = currentOwner();
    let run: RunRow;
    try {
      const cooldown = this.options.config.decision.cooldown_s;
      // A drill (trigger drill) neither obeys nor starts a real run's cooldown, nor moves the site state.
      // Re-running a fence changes nothing further, so it has no cooldown either.
      const drill = input.trigger === DRILL_TRIGGER;
      await this.journal.migrated();
      if (!drill) await this.site?.check(runbook);
      const previous =
        drill || fencedFailover(runbook) ? undefined : await lastRealRun<RunRow>(this.journal.db, runbook);
      const age = previous ? this.journal.now() - previous.created_at : Infinity;
      if (previous && previous.active !== 1 && age < cooldown && !input.overrideCooldown) {
        throw new CooldownError(
          `${runbook} run ${previous.id} started ${Math.round(age)} s ago (${previous.status}), inside the cooldown of ${cooldown} s (decision.cooldown); a second one is refused. An operator who must run it again: phoenix failover --override-cooldown "<reason>"`,
          previous.id,
        );
      }
      run = await this.journal.createRun({
        runbook,
        trigger: input.trigger ?? 'manual',
        reason: input.reason,
        plan: planShape(plan),
        stages: planShape(plan).stages,
        owner,
        cooldownOverride:
          previous && age < cooldown && input.overrideCooldown ? input.overrideCooldown : undefined,
        decision: input.decision,
      });
    } catch (error) {
      if (!(error instanceof RunBusyError)) throw error;
      const active = await this.journal.getRun(error.activeRunId);
      if (!active || active.runbook !== runbook) throw error;
      if ((active.trigger === DRILL_TRIGGER) !== (input.trigger === DRILL_TRIGGER))
        throw await this.drillConflict(active, input.trigger);
      if (this.journal.ownerAlive(active)) {
        return { runId: active.id, joined: true, done: this.waitFor(active.id) };
      }
      const resumed = await this.resume(active.id);
      return { ...resumed, joined: true };
    }
    if (run.trigger !== DRILL_TRIGGER) await this.site?.started(runbook, run.id);
    this.emit({ type: 'run', runId: run.id, runbook, status: 'running' });
    return { runId: run.id, joined: false, done: this.execute(run, plan, owner, false) };
  }

  /**
   * A drill and a real run never join each other. A real trigger during a drill stops the drill (its
   * cleanup still runs) and is refused this once: the next trigger starts the real run.
   */
  private async drillConflict(active: RunRow, trigger: string | undefined): Promise<RunBusyError> {
    if (active.trigger !== DRILL_TRIGGER)
      return new RunBusyError(
        `run ${active.id} (${active.runbook}) is a real run in progress; a drill waits until it ends`,
        active.id,
      );
    await this.journal.requestAbort(
      active.id,
      `a real ${active.runbook} run (trigger ${trigger ?? 'manual'})`,
    );
    return new RunBusyError(
      `drill ${active.id} of ${active.runbook} was active: it is being aborted (its cleanup runs); trigger the real run again`,
      active.id,
    );
  }

  /** Continues an interrupted (or failed) run, never repeating a step that finished. */
  async resume(runId: string): Promise<RunHandle> {
    const existing = await this.journal.requireRun(runId);
    const plan = buildPlan(this.options.config, existing.runbook);
    const mismatch = shapeMismatch(JSON.parse(existing.plan_json) as PlanShape, planShape(plan));
    if (mismatch) throw new RunStateError(`cannot resume ${runId}: ${mismatch}`);
    const owner = currentOwner();
    const run = await this.journal.claimRun(runId, owner);
    if (run.trigger !== DRILL_TRIGGER) await this.site?.started(run.runbook, runId);
    this.emit({ type: 'run', runId, runbook: run.runbook, status: 'running', resumed: true });
    return { runId, joined: false, done: this.execute(run, plan, owner, true) };
  }

  /** Settles when a run executed elsewhere ends. */
  async waitFor(runId: string): Promise<RunReport> {
    for (;;) {
      const run = await this.journal.requireRun(runId);
      if (run.active !== 1 && run.status !== 'running' && run.status !== 'waiting_approval') {
        return buildReport(this.journal, runId);
      }
      if (run.active === 1 && !this.journal.ownerAlive(run)) {
        return buildReport(this.journal, runId);
      }
      await delay(this.pollMs);
    }
  }

  private async execute(run: RunRow, plan: Plan, owner: Owner, resumed: boolean): Promise<RunReport> {
    const runId = run.id;
    const runAbort = new AbortController();
    this.executing.add(runAbort);
    const stopWatching = this.watchRun(runId, owner, runAbort);
    const runDir = join(this.workDir, runId);
    mkdirSync(runDir, { recursive: true });
    let ending: { status: RunStatus; error: string | null };
    let fenced = false;
    let cleanupFenced: FencedError | undefined;
    try {
      ending = await this.runStages(run, plan, runDir, runAbort.signal);
    } catch (failure) {
      const reason = runAbort.signal.aborted ? runAbort.signal.reason : failure;
      if (reason instanceof FencedError) {
        fenced = true;
        return this.fencedOut(run, owner, reason);
      }
      ending = await this.failRun(runId, reason);
    } finally {
      // A drill cleans up whatever happened, unless this process lost the lead (the leader resumes it).
      if (!fenced) cleanupFenced = await this.cleanUpDrill(plan, runId, runDir);
      stopWatching();
      this.executing.delete(runAbort);
    }
    if (cleanupFenced) return this.fencedOut(run, owner, cleanupFenced);
    const { status, error } = ending;
    const report = await buildReport(this.journal, runId, { status, finishedAt: this.journal.now() });
    await this.journal.finishRun(runId, owner.token, status, error, report);
    if (run.trigger !== DRILL_TRIGGER) await this.site?.finished(run.runbook, runId, status, plan);
    this.emit({
      type: 'run',
      runId,
      runbook: run.runbook,
      status,
      error: error ?? undefined,
      resumed,
      ...(report.stages_without_effect?.length ? { without_effect: report.stages_without_effect } : {}),
    });
    return buildReport(this.journal, runId);
  }

  /** A drill's cleanup; fenced out meanwhile, the error (the leader resumes the drill and cleans up). */
  private async cleanUpDrill(plan: Plan, runId: string, runDir: string): Promise<FencedError | undefined> {
    if (!(await isDrillRun(this.journal.db, runId))) return undefined;
    try {
      await cleanupDrill(this.journal.db, plan, runId, {
        runDir,
        env: this.options.env ?? process.env,
        now: () => this.journal.now(),
        fence: this.options.fence,
      });
      return undefined;
    } catch (error) {
      if (error instanceof FencedError) return error;
      throw error;
    }
  }

  /**
   * Refreshes the run's heartbeat every poll and stops the run when an abort is requested
   * or the store fences this controller out. Returns the function that stops watching.
   */
  private watchRun(runId: string, owner: Owner, runAbort: AbortController): () => void {
    let inFlight = false;
    const watch = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      this.journal
        .heartbeat(runId, owner.token)
        .then((state) => {
          if (state.abortRequested && !runAbort.signal.aborted) {
            runAbort.abort(new RunAborted(state.abortedBy ?? 'someone'));
          }
        })
        .catch((error: unknown) => {
          // Fenced: another controller leads now; stop at once. Anything else (a busy
          // database) must not kill the run: the next tick tries again.
          if (error instanceof FencedError && !runAbort.signal.aborted) runAbort.abort(error);
        })
        .finally(() => {
          inFlight = false;
        });
    }, this.pollMs);
    return () => clearInterval(watch);
  }

  /** Runs the stages not yet finished, in order; a step may end the run early (cleared). */
  private async runStages(
    run: RunRow,
    plan: Plan,
    runDir: string,
    signal: AbortSignal,
  ): Promise<{ status: RunStatus; error: string | null }> {
    const runId = run.id;
    const stages = await this.journal.stages(runId);
    for (const [index, stage] of plan.stages.entries()) {
      const row = stages[index];
      if (row && (row.status === 'succeeded' || row.status === 'skipped')) continue;
      this.throwIfAborted(signal);
      await this.journal.stageStarted(runId, index);
      this.emit({ type: 'stage', runId, stage: stage.name, index, status: 'running' });
      if (stage.approval) await this.gate(runId, `stage:${stage.name}`, signal);
      const ended = await this.runStage(run, plan, stage, runDir, signal);
      if (!ended && stage.required) await this.requireEffect(runId, run.runbook, stage.name);
      await this.journal.stageFinished(runId, index, 'succeeded');
      this.emit({ type: 'stage', runId, stage: stage.name, index, status: 'succeeded' });
      if (ended) {
        await this.journal.skipPending(runId, `not needed: ${ended}`);
        return { status: 'cleared', error: ended };
      }
    }
    return this.outcome(runId);
  }

  /**
   * A required stage did nothing when every one of its steps that ran failed (each under
   * continue_on_error): what follows assumes it did (traffic moved), so the run fails here.
   */
  private async requireEffect(runId: string, runbook: string, stage: string): Promise<void> {
    const ran = (await this.journal.steps(runId)).filter(
      (s) => s.stage === stage && (s.status === 'succeeded' || s.status === 'failed'),
    );
    if (ran.length === 0 || ran.some((s) => s.status === 'succeeded')) return;
    throw new Error(
      `stage ${stage} did nothing: every step failed (each continue_on_error): ${ran.map((s) => s.name).join(', ')}; the stage is required (runbooks.${runbook} stage ${stage}: required, the default for a stage with a dns step), so the run stops here`,
    );
  }

  /**
   * Succeeded, unless every step that ran failed (each under continue_on_error): a run that did
   * nothing it was meant to do is failed, whatever its steps allowed.
   */
  private async outcome(runId: string): Promise<{ status: RunStatus; error: string | null }> {
    const ran = (await this.journal.steps(runId)).filter(
      (s) => s.status === 'succeeded' || s.status === 'failed',
    );
    if (ran.length === 0 || ran.some((s) => s.status === 'succeeded'))
      return { status: 'succeeded', error: null };
    return {
      status: 'failed',
      error: `every step failed (each continue_on_error): ${ran.map((s) => s.name).join(', ')}; nothing the runbook does was done`,
    };
  }

  /** Journals why a run stopped (aborted or failed) and fails the stage that was running. */
  private async failRun(
    runId: string,
    reason: unknown,
  ): Promise<{ status: RunStatus; error: string | null }> {
    let ending: { status: RunStatus; error: string | null };
    if (reason instanceof RunAborted) {
      ending = { status: 'aborted', error: reason.message };
      await this.journal.skipPending(runId, 'run aborted');
    } else {
      ending = { status: 'failed', error: message(reason) };
    }
    const current = (await this.journal.stages(runId)).find((s) => s.status === 'running');
    if (current) {
      await this.journal.stageFinished(runId, current.stage_index, 'failed');
      this.emit({ type: 'stage', runId, stage: current.name, index: current.stage_index, status: 'failed' });
    }
    return ending;
  }

  /** This process no longer leads: it writes nothing more and leaves the run to the leader. */
  private fencedOut(run: RunRow, owner: Owner, reason: FencedError): Promise<RunReport> {
    this.journal.release(owner.token);
    this.emit({ type: 'run', runId: run.id, runbook: run.runbook, status: 'running', error: reason.message });
    return buildReport(this.journal, run.id);
  }

  private throwIfAborted(signal: AbortSignal): void {
    if (signal.aborted) throw signal.reason;
  }

  /** Runs a stage's steps; returns the reason when a step ended the run cleanly. */
  private async runStage(
    run: RunRow,
    plan: Plan,
    stage: PlannedStage,
    runDir: string,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const outcomes: StepOutcome[] = [];
    if (stage.parallel) {
      const settled = await Promise.allSettled(
        stage.steps.map((step) => this.runStep(run, plan, step, runDir, signal)),
      );
      for (const s of settled) {
        if (s.status === 'rejected') throw s.reason;
        outcomes.push(s.value);
      }
    } else {
      for (const step of stage.steps) {
        const outcome = await this.runStep(run, plan, step, runDir, signal);
        outcomes.push(outcome);
        if (!outcome.ok || outcome.endRun) break;
      }
    }
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) {
      throw new StageFailed(
        `stage ${stage.name} failed: ${failed.map((f) => `${f.step}: ${f.error}`).join('; ')}; fix the cause and resume with phoenix failover --resume ${run.id}`,
      );
    }
    return outcomes.find((o) => o.endRun)?.endRun;
  }

  /** A fallback whose step did not fail is skipped, with the reason, and never runs. */
  private async fallbackNotNeeded(runId: string, step: PlannedStep): Promise<boolean> {
    const primary = await this.journal.step(runId, step.only_if_failed!);
    if (primary.status === 'failed') return false;
    const summary = `not needed: ${step.only_if_failed} ${primary.status}`;
    await this.journal.stepFinished(runId, step.name, 'skipped', { summary });
    this.emit({ type: 'step', runId, stage: step.stage, step: step.name, status: 'skipped', summary });
    return true;
  }

  private async runStep(
    run: RunRow,
    plan: Plan,
    step: PlannedStep,
    runDir: string,
    runSignal: AbortSignal,
  ): Promise<StepOutcome> {
    const runId = run.id;
    const row = await this.journal.step(runId, step.name);
    if (
      row.status === 'succeeded' ||
      row.status === 'skipped' ||
      (row.status === 'failed' && step.continue_on_error)
    ) {
      // Finished before a crash or an earlier session: never repeated.
      return { ok: true, step: step.name };
    }
    if (step.only_if_failed && (await this.fallbackNotNeeded(runId, step)))
      return { ok: true, step: step.name };
    if (step.approval) await this.gate(runId, `step:${step.name}`, runSignal);
    let failures = 0;
    const stepDir = join(runDir, step.name.replace(/[^A-Za-z0-9_.-]/g, '_'));
    mkdirSync(stepDir, { recursive: true });
    for (;;) {
      this.throwIfAborted(runSignal);
      const outcome = await this.runAttempt(run, plan, step, stepDir, runSignal);
      if ('result' in outcome) return this.stepSucceeded(runId, step, outcome.attempt, outcome.result);
      const { attempt, why } = outcome;
      failures += 1;
      if (failures > step.retries) {
        await this.journal.stepFinished(runId, step.name, 'failed', { error: why });
        this.emit({
          type: 'step',
          runId,
          stage: step.stage,
          step: step.name,
          status: 'failed',
          attempt,
          error: why,
        });
        if (step.continue_on_error) return { ok: true, step: step.name };
        return { ok: false, error: why, step: step.name };
      }
      this.emit({
        type: 'step',
        runId,
        stage: step.stage,
        step: step.name,
        status: 'retrying',
        attempt,
        error: why,
      });
      const wait = Math.min(
        step.backoff.max_s,
        step.backoff.initial_s * step.backoff.factor ** (failures - 1),
      );
      await delay(wait * 1000, runSignal);
    }
  }

  /**
   * One attempt of a step: survivors of earlier attempts are killed first, the attempt is
   * journaled before the adapter starts, and the process groups it spawns are journaled
   * as they start. Throws only when the run is aborted; a failure is returned.
   */
  private async runAttempt(
    run: RunRow,
    plan: Plan,
    step: PlannedStep,
    stepDir: string,
    runSignal: AbortSignal,
  ): Promise<{ attempt: number; result: StepResult } | { attempt: number; why: string }> {
    const runId = run.id;
    const survivors = await this.processes.killSurvivors(runId, step.name);
    for (const group of survivors.elsewhere)
      this.emit({
        type: 'progress',
        runId,
        stage: step.stage,
        step: step.name,
        message: `process group ${group.pgid} of attempt ${group.attempt} ran on ${group.host}; it cannot be checked from here`,
      });
    const { attempt, resumed, failed } = await this.journal.attemptStarted(runId, step.name);
    this.emit({
      type: 'step',
      runId,
      stage: step.stage,
      step: step.name,
      status: 'running',
      attempt,
      resumed,
    });
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new Error(`timed out after ${step.timeout_s}s; raise the step's timeout or fix what it waits for`),
        ),
      step.timeout_s * 1000,
    );
    const signal = AbortSignal.any([runSignal, timeout.signal]);
    // Handed to the step so that what it calls can refuse a stale controller (a fenced resource).
    const fencingToken = await this.options.fence?.().catch(() => undefined);
    const context: StepContext = {
      runId,
      runbook: run.runbook,
      stage: step.stage,
      step: step.name,
      attempt,
      resumed,
      idempotencyKey: `${runId}/${step.name}/${failed + 1}`,
      signal,
      rpoBudgetS: plan.rpoBudgetS,
      fencingToken,
      workDir: stepDir,
      state: stepStateIn(this.journal, runId, step.name),
      env: this.options.env ?? process.env,
      progress: (text) =>
        this.emit({ type: 'progress', runId, stage: step.stage, step: step.name, message: text }),
    };
    try {
      const tracker = this.processes.tracker(runId, step.name, attempt);
      const drill = await isDrillRun(this.journal.db, runId);
      const result = await untilAborted(
        trackProcessGroups(tracker, () =>
          drill
            ? rehearseStep(this.journal.db, step, context, () => this.journal.now(), this.options.fence)
            : step.adapter.run(step.params, context),
        ),
        signal,
      );
      return { attempt, result };
    } catch (error) {
      await this.processes.settleAttempt(runId, step.name, attempt);
      if (runSignal.aborted) {
        const why = message(runSignal.reason);
        await this.journal.attemptFinished(runId, step.name, attempt, 'aborted', { error: why });
        await this.journal.stepFinished(runId, step.name, 'aborted', { error: why });
        this.emit({ type: 'step', runId, stage: step.stage, step: step.name, status: 'aborted' });
        throw runSignal.reason;
      }
      const why = timeout.signal.aborted ? message(timeout.signal.reason) : message(error);
      await this.journal.attemptFinished(runId, step.name, attempt, 'failed', { error: why });
      return { attempt, why };
    } finally {
      clearTimeout(timer);
    }
  }

  private async stepSucceeded(
    runId: string,
    step: PlannedStep,
    attempt: number,
    result: StepResult,
  ): Promise<StepOutcome> {
    await this.journal.attemptFinished(runId, step.name, attempt, 'succeeded', { summary: result.summary });
    await this.journal.stepFinished(runId, step.name, 'succeeded', {
      summary: result.summary,
      output: result.endRun ? { ...result.output, end_run: result.endRun.reason } : result.output,
      dnsTtlS: result.dnsTtlS,
      dataLossS: result.dataLossS,
    });
    this.emit({
      type: 'step',
      runId,
      stage: step.stage,
      step: step.name,
      status: 'succeeded',
      attempt,
      summary: result.summary,
    });
    return { ok: true, step: step.name, endRun: result.endRun?.reason };
  }

  /** Waits until a gate is approved (here with --yes, or by phoenix approve from any process). */
  private async gate(runId: string, gate: string, signal: AbortSignal): Promise<void> {
    let row = await this.journal.requestApproval(runId, gate);
    if (row.decided_at !== null) return;
    if (this.options.autoApprove) {
      await this.journal.approve(runId, 'auto (--yes)', gate);
      this.emit({ type: 'approval', runId, gate, status: 'approved', by: 'auto (--yes)' });
      return;
    }
    await this.journal.setRunStatus(runId, 'waiting_approval');
    this.emit({ type: 'approval', runId, gate, status: 'waiting' });
    for (;;) {
      await delay(this.pollMs, signal);
      row = await this.journal.approval(runId, gate);
      if (row.decided_at !== null) break;
    }
    if (!(await this.journal.approvals(runId)).some((a) => a.decided_at === null))
      await this.journal.setRunStatus(runId, 'running');
    this.emit({ type: 'approval', runId, gate, status: 'approved', by: row.decided_by ?? undefined });
  }
}

/**
 * Resumes every run left active by a process that is gone (the controller calls this on
 * start). Returns the handles; each settles when its run ends.
 */
export async function resumeInterruptedRuns(
  options: EngineOptions,
  engine = new RunbookEngine(options),
): Promise<RunHandle[]> {
  const token = options.fence ? await options.fence() : undefined;
  const handles: RunHandle[] = [];
  for (const run of await engine.journal.interruptedRuns(token)) handles.push(await engine.resume(run.id));
  return handles;
}
