import type { SqlDb } from '../store/index.js';

/**
 * What the journal records of drills, as readers (reports, `phoenix runs`, the cooldown) need it:
 * apart from the drill mode itself, so reading a report does not load every step type's rehearsal.
 */

/** A run in drill mode carries this trigger, written with the run in one statement: never a real run by accident. */
export const DRILL_TRIGGER = 'drill';

export type CleanupStatus = 'pending' | 'cleaned' | 'failed';

export interface CleanupRow {
  run_id: string;
  step: string;
  type: string;
  seq: number;
  status: CleanupStatus;
  rehearsed_at: number;
  cleaned_at: number | null;
  summary: string | null;
  left_json: string | null;
  error: string | null;
}

/** A drill's cleanup, as the report and the CLI show it. */
export interface DrillCleanup {
  /** succeeded: every rehearsal cleaned and nothing left; failed: something is left or could not be checked. */
  status: 'succeeded' | 'failed' | 'pending' | 'nothing_to_clean';
  detail: string;
  steps: Array<{
    step: string;
    type: string;
    status: CleanupStatus;
    summary: string | null;
    left: string[];
    error: string | null;
  }>;
}

export async function isDrillRun(db: SqlDb, runId: string): Promise<boolean> {
  const row = await db.get<{ trigger: string | null }>('SELECT trigger FROM runbook_runs WHERE id = ?', [
    runId,
  ]);
  return row?.trigger === DRILL_TRIGGER;
}

/** The newest run of a runbook that was not a drill: a drill neither starts nor obeys a real run's cooldown. */
export function lastRealRun<T>(db: SqlDb, runbook: string): Promise<T | undefined> {
  return db.get<T>(
    `SELECT * FROM runbook_runs WHERE runbook = ? AND coalesce(trigger, '') <> ?
      ORDER BY created_at DESC, ${db.insertionOrder} DESC LIMIT 1`,
    [runbook, DRILL_TRIGGER],
  );
}

/** The recorded cleanup of a drill run. */
export async function drillCleanupOf(db: SqlDb, runId: string): Promise<DrillCleanup> {
  const rows = await db.all<CleanupRow>(
    'SELECT * FROM runbook_drill_cleanups WHERE run_id = ? ORDER BY seq',
    [runId],
  );
  const steps = rows.map((r) => ({
    step: r.step,
    type: r.type,
    status: r.status,
    summary: r.summary,
    left: r.left_json ? (JSON.parse(r.left_json) as string[]) : [],
    error: r.error,
  }));
  if (steps.length === 0)
    return { status: 'nothing_to_clean', detail: 'no rehearsal made anything to clean up', steps };
  const failed = steps.filter((s) => s.status === 'failed');
  const pending = steps.filter((s) => s.status === 'pending');
  if (failed.length)
    return {
      status: 'failed',
      detail: `failed: ${failed.map((s) => `${s.step}: ${s.error ?? `left ${s.left.join(', ')}`}`).join('; ')}`,
      steps,
    };
  if (pending.length)
    return { status: 'pending', detail: `not yet cleaned: ${pending.map((s) => s.step).join(', ')}`, steps };
  return {
    status: 'succeeded',
    detail: `nothing left: ${steps.map((s) => `${s.step}: ${s.summary}`).join('; ')}`,
    steps,
  };
}
