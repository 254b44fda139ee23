import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  drillFor,
  type CleanupResult,
  type DrillContext,
  type StepContext,
  type StepResult,
  type StepState,
} from '../actions/index.js';
import type { StepType } from '../config/sections/runbooks.js';
import { FencedError, type Fence, type SqlDb } from '../store/index.js';
import type { Plan, PlannedStep } from './plan.js';
import { Journal, stepStateIn } from './journal.js';
import { drillCleanupOf, type CleanupRow, type CleanupStatus, type DrillCleanup } from './drill-record.js';

/**
 * Drill mode (`phoenix drill --config`, scheduled drills): the engine runs each step's rehearsal instead
 * of the step, and at the end of the run, whatever its outcome, each rehearsal's cleanup. Every
 * rehearsal is journaled here before it starts, so a drill killed at any point (and resumed, here or by
 * another controller) still cleans up what it made.
 */

export {
  DRILL_TRIGGER,
  drillCleanupOf,
  isDrillRun,
  lastRealRun,
  type CleanupRow,
  type CleanupStatus,
  type DrillCleanup,
} from './drill-record.js';

/**
 * A write to the drill's cleanup journal by the executing controller: in one transaction with its
 * fence check, as every journal write, so a controller that lost the lead records nothing.
 */
async function journalWrite(
  db: SqlDb,
  fence: Fence | undefined,
  sql: string,
  params: Array<string | number | null>,
): Promise<void> {
  if (!fence) {
    await db.run(sql, params);
    return;
  }
  await db.transaction(async () => {
    await fence();
    await db.run(sql, params);
  });
}

async function rehearsedBefore(db: SqlDb, runId: string): Promise<DrillContext['rehearsed']> {
  const rows = await db.all<{ name: string; type: StepType; output_json: string | null }>(
    `SELECT name, type, output_json FROM runbook_steps
      WHERE run_id = ? AND status = 'succeeded' ORDER BY stage_index, step_index`,
    [runId],
  );
  return Object.fromEntries(
    rows.map((r) => [r.name, { type: r.type, output: r.output_json ? JSON.parse(r.output_json) : {} }]),
  );
}

/**
 * Runs a step's rehearsal in place of the step. Its cleanup is journaled as pending first, so it runs
 * even when the process dies inside the rehearsal. A step without drill behaviour is skipped, never run.
 */
export async function rehearseStep(
  db: SqlDb,
  step: PlannedStep,
  ctx: StepContext,
  now: () => number,
  fence?: Fence,
): Promise<StepResult> {
  const found = drillFor(step.type, step.params);
  if ('missing' in found)
    return { summary: `drill: skipped: ${found.missing}`, output: { drill_skipped: found.missing } };
  if (found.drill.cleanup) {
    await journalWrite(
      db,
      fence,
      `INSERT INTO runbook_drill_cleanups (run_id, step, type, seq, status, rehearsed_at)
       VALUES (?, ?, ?, (SELECT count(*) FROM runbook_drill_cleanups WHERE run_id = ?), 'pending', ?)
       ON CONFLICT (run_id, step) DO UPDATE SET status = 'pending', rehearsed_at = excluded.rehearsed_at`,
      [ctx.runId, step.name, step.type, ctx.runId, now()],
    );
  }
  return found.drill.rehearse(step.params, { ...ctx, rehearsed: await rehearsedBefore(db, ctx.runId) });
}

function cleanupContext(
  runId: string,
  runbook: string,
  step: PlannedStep,
  runDir: string,
  env: NodeJS.ProcessEnv,
  state: StepState,
): StepContext {
  const workDir = join(runDir, step.name.replace(/[^A-Za-z0-9_.-]/g, '_'));
  mkdirSync(workDir, { recursive: true });
  return {
    runId,
    runbook,
    stage: step.stage,
    step: step.name,
    attempt: 1,
    resumed: false,
    idempotencyKey: `${runId}/${step.name}/1`,
    signal: AbortSignal.timeout(step.timeout_s * 1000),
    rpoBudgetS: undefined,
    workDir,
    state,
    env,
    progress: () => undefined,
  };
}

async function cleanOne(step: PlannedStep, ctx: StepContext): Promise<CleanupResult> {
  const found = drillFor(step.type, step.params);
  if ('missing' in found || !found.drill.cleanup) return { summary: 'nothing to clean', left: [] };
  return found.drill.cleanup(step.params, ctx);
}

/**
 * Cleans up every rehearsal of a drill not yet cleaned, newest first, and records each result. Throws
 * only FencedError (another controller leads now and resumes the drill): a cleanup that fails is
 * recorded as failed (and tried again if the run is resumed).
 */
export async function cleanupDrill(
  db: SqlDb,
  plan: Plan,
  runId: string,
  options: { runDir: string; env: NodeJS.ProcessEnv; now: () => number; fence?: Fence },
): Promise<DrillCleanup> {
  const pending = await db.all<CleanupRow>(
    `SELECT * FROM runbook_drill_cleanups WHERE run_id = ? AND status <> 'cleaned' ORDER BY seq DESC`,
    [runId],
  );
  const steps = plan.stages.flatMap((s) => s.steps);
  const record = (...params: Array<string | number | null>) =>
    journalWrite(
      db,
      options.fence,
      `UPDATE runbook_drill_cleanups SET status = ?, cleaned_at = ?, summary = ?, left_json = ?, error = ?
        WHERE run_id = ? AND step = ?`,
      params,
    );
  for (const row of pending) {
    const step = steps.find((s) => s.name === row.step);
    try {
      if (!step)
        throw new Error(`step ${row.step} is no longer in the runbook: remove its drill resources by hand`);
      const result = await cleanOne(
        step,
        cleanupContext(
          runId,
          plan.runbook,
          step,
          options.runDir,
          options.env,
          stepStateIn(new Journal(db, options.now, undefined, options.fence), runId, step.name),
        ),
      );
      const status: CleanupStatus = result.left.length ? 'failed' : 'cleaned';
      await record(status, options.now(), result.summary, JSON.stringify(result.left), null, runId, row.step);
    } catch (error) {
      // Fenced out: the new leader resumes the drill and cleans up; this controller writes nothing more.
      if (error instanceof FencedError) throw error;
      await record('failed', options.now(), null, '[]', (error as Error).message, runId, row.step);
    }
  }
  return drillCleanupOf(db, runId);
}

/** Each step a drill would skip (no drill behaviour for its type or params), with the fix. */
export function drillGaps(plan: Plan): Array<{ path: string; message: string }> {
  return plan.stages.flatMap((stage, i) =>
    stage.steps.flatMap((step, j) => {
      const found = drillFor(step.type, step.params);
      return 'missing' in found
        ? [
            {
              path: `runbooks.${plan.runbook}.stages[${i}].steps[${j}] (${step.name})`,
              message: found.missing,
            },
          ]
        : [];
    }),
  );
}
