import type { EvidenceItem, Level, SignalStatus } from '../core/index.js';
import type { RunReport } from '../runbook/index.js';
import type { CycleRecord, StoredDecision } from '../store/index.js';
import {
  continuedReasons,
  continuedSteps,
  stageDidNothing,
  stageLabel,
  type ContinuedStep,
} from './labels.js';

/** What a scheduled drill recorded beside its run (src/drills), when the report is about a drill. */
export interface DrillFacts {
  id: string;
  mode: string;
  status: string;
  scheduled_for: number | null;
  cleanup: string | null;
  detail: string | null;
}

/** The store rows a report is built from; `loadReportRows` reads them. */
export interface ReportRows {
  run: RunReport;
  /** Controller cycles around the run, oldest first. */
  cycles: CycleRecord[];
  /** Decisions around the run, in any order. */
  decisions: StoredDecision[];
  drill?: DrillFacts;
  /** The recovery targets: `drills.rto_target` and `topology.dr.rpo_budget_s`. */
  targets: { rto_s: number | null; rpo_s: number | null };
}

export interface TimelinePoint {
  at: number;
  score: number;
  level: Level;
  action: string;
  signals: Record<string, SignalStatus>;
}

export interface Measured {
  measured_s: number | null;
  target_s: number | null;
  /** null when either side is unknown. */
  met: boolean | null;
}

export interface ReportStage {
  name: string;
  status: string;
  /** `succeeded with 1 failed step (continued)` rather than a plain success. */
  label: string;
  duration_s: number | null;
  continued: ContinuedStep[];
  continued_reason: string | null;
  steps: RunReport['steps'];
}

/** Everything a compliance reviewer reads about one run or drill. */
export interface EvidenceReport {
  generated_at: number;
  kind: 'run' | 'drill';
  run: Omit<RunReport, 'stages' | 'steps' | 'approvals'>;
  drill: DrillFacts | null;
  timeline: TimelinePoint[];
  decision:
    | (Omit<StoredDecision, 'analysis'> & {
        analyzer: string | null;
        root_cause: string | null;
        evidence: EvidenceItem[];
      })
    | null;
  /** Policy rules that held a more drastic action back in the cycles before the run. */
  held_back: Array<{ rule: string; first_at: number; last_at: number; cycles: number }>;
  approvals: Array<RunReport['approvals'][number] & { waited_s: number | null }>;
  stages: ReportStage[];
  rto: Measured;
  rpo: Measured;
  /** A drill's cleanup: every rehearsal's resources removed and checked gone (succeeded), or not. */
  cleanup: { status: 'succeeded' | 'failed' | 'pending' | 'not_recorded'; detail: string | null };
}

/** How far before the run the timeline and the "held back" rules reach. */
export const TIMELINE_BEFORE_S = 1800;
/** How far after the run ends the timeline goes on. */
export const TIMELINE_AFTER_S = 300;

const measure = (measured: number | null, target: number | null): Measured => ({
  measured_s: measured,
  target_s: target,
  met: measured === null || target === null ? null : measured <= target,
});

/**
 * The decision that started the run: the one the run recorded (its cycle's stored decision, with
 * the full analysis, or the record itself once history pruned it). A run from before runs recorded
 * it, started by the controller, falls back to the newest decision to run this runbook at its start.
 */
function startingDecision(rows: ReportRows): EvidenceReport['decision'] {
  const recorded = rows.run.decision;
  const started = rows.run.started_at;
  const found = recorded
    ? rows.decisions.find((d) => recorded.cycle_id !== null && d.cycle_id === recorded.cycle_id)
    : rows.run.trigger === 'controller'
      ? rows.decisions
          .filter((d) => d.action === rows.run.runbook && d.at <= started + 1)
          .sort((a, b) => b.at - a.at || b.id - a.id)[0]
      : undefined;
  if (!found && recorded)
    return {
      ...recorded,
      id: -1,
      cycle_id: recorded.cycle_id ?? -1,
      action: recorded.action as StoredDecision['action'],
      level: recorded.level as StoredDecision['level'],
      category: recorded.category as StoredDecision['category'],
      confidence: recorded.confidence as StoredDecision['confidence'],
      blocked_by: [],
      analyzer: null,
      root_cause: null,
      evidence: recorded.evidence,
    };
  if (!found) return null;
  const { analysis, ...decision } = found;
  const evidence = [...(analysis?.evidence ?? [])].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
  return {
    ...decision,
    analyzer: analysis?.analyzer ?? null,
    root_cause: analysis?.root_cause ?? null,
    evidence,
  };
}

function heldBack(rows: ReportRows): EvidenceReport['held_back'] {
  const rules = new Map<string, { rule: string; first_at: number; last_at: number; cycles: number }>();
  const from = rows.run.started_at - TIMELINE_BEFORE_S;
  const decisions = rows.decisions
    .filter((d) => d.at >= from && d.at <= rows.run.started_at + 1)
    .sort((a, b) => a.at - b.at);
  for (const d of decisions) {
    for (const rule of d.blocked_by) {
      const known = rules.get(rule);
      if (known) {
        known.last_at = d.at;
        known.cycles += 1;
      } else rules.set(rule, { rule, first_at: d.at, last_at: d.at, cycles: 1 });
    }
  }
  return [...rules.values()];
}

function cleanupOf(run: RunReport, drill: DrillFacts | undefined): EvidenceReport['cleanup'] {
  // A drill-mode run journals each rehearsal's cleanup (src/runbook/drill-mode.ts).
  if (run.cleanup) {
    const { status, detail } = run.cleanup;
    if (status === 'pending') return { status, detail };
    return { status: status === 'failed' ? 'failed' : 'succeeded', detail };
  }
  if (!drill?.cleanup) return { status: 'not_recorded', detail: null };
  const failed = /^fail/i.test(drill.cleanup);
  return { status: failed ? 'failed' : 'succeeded', detail: drill.cleanup };
}

/** Builds the report model from store rows. Pure: the caller passes the rows and the time. */
export function buildEvidenceReport(rows: ReportRows, generatedAt: number): EvidenceReport {
  const { stages, steps, approvals, ...run } = rows.run;
  return {
    generated_at: generatedAt,
    kind: rows.drill || rows.run.trigger === 'drill' ? 'drill' : 'run',
    run,
    drill: rows.drill ?? null,
    timeline: rows.cycles.map((c) => ({
      at: c.at,
      score: c.score.score,
      level: c.score.level,
      action: c.decision.action,
      signals: Object.fromEntries(Object.entries(c.signals).map(([name, s]) => [name, s.status])),
    })),
    decision: startingDecision(rows),
    held_back: heldBack(rows),
    approvals: approvals.map((a) => ({
      ...a,
      waited_s: a.decided_at === null ? null : Math.round((a.decided_at - a.requested_at) * 1000) / 1000,
    })),
    stages: stages.map((stage) => {
      const own = steps.filter((s) => s.stage === stage.name);
      const continued = continuedSteps(stage.status, own);
      return {
        ...stage,
        label: stageLabel(stage.status, continued, stageDidNothing(own)),
        continued,
        continued_reason: continued.length ? continuedReasons(continued) : null,
        steps: own,
      };
    }),
    rto: measure(run.rto_s, rows.targets.rto_s),
    rpo: measure(run.data_loss_s, rows.targets.rpo_s),
    cleanup: cleanupOf(rows.run, rows.drill),
  };
}
