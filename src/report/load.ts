import type { PhoenixConfig } from '../config/index.js';
import { DrillStore, type DrillRow } from '../drills/index.js';
import { buildReport, Journal, type RunReport } from '../runbook/index.js';
import { HistoryStore, type SqlDb, type SqliteDatabase } from '../store/index.js';
import { TIMELINE_AFTER_S, TIMELINE_BEFORE_S, type DrillFacts, type ReportRows } from './model.js';

export class UnknownRunError extends Error {}

const facts = (drill: DrillRow): DrillFacts => ({
  id: drill.id,
  mode: drill.mode,
  status: drill.status,
  scheduled_for: drill.scheduled_for,
  cleanup: drill.cleanup,
  detail: drill.detail,
});

/** The run (or drill) with that id, as a run report, and the drill record behind it if any. */
async function findRun(
  db: SqlDb | SqliteDatabase,
  id: string,
): Promise<{ run: RunReport; drill?: DrillRow }> {
  const journal = new Journal(db);
  const drills = new DrillStore(db);
  if (await journal.getRun(id)) return { run: await buildReport(journal, id), drill: await drills.byRun(id) };
  const drill = await drills.get(id);
  if (drill?.run_id && (await journal.getRun(drill.run_id)))
    return { run: await buildReport(journal, drill.run_id), drill };
  if (drill?.report_json) return { run: JSON.parse(drill.report_json) as RunReport, drill };
  throw new UnknownRunError(
    `no run or drill ${id} in the store; list them with phoenix runs (or GET /api/runs)`,
  );
}

/** Reads everything a report about run or drill `id` needs from the controller's store. */
export async function loadReportRows(
  db: SqlDb | SqliteDatabase,
  config: PhoenixConfig,
  id: string,
): Promise<ReportRows> {
  const { run, drill } = await findRun(db, id);
  const history = new HistoryStore(db, config.store.retention_s);
  const since = run.started_at - TIMELINE_BEFORE_S;
  const until = (run.finished_at ?? run.started_at) + TIMELINE_AFTER_S;
  const dr = config.topology.dr as { rpo_budget_s?: number } | undefined;
  const drills = config.raw.drills;
  return {
    run,
    cycles: await history.cycles({ since, until, limit: 2000 }),
    decisions: (await history.decisions({ since, limit: 2000 })).filter((d) => d.at <= until),
    drill: drill ? facts(drill) : undefined,
    targets: { rto_s: drills?.rto_target ?? null, rpo_s: dr?.rpo_budget_s ?? null },
  };
}
