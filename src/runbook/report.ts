import { formatSeconds } from '../core/index.js';
import type { Journal, RunDecision, RunStatus, StepStatus } from './journal.js';
import { DRILL_TRIGGER, drillCleanupOf, type DrillCleanup } from './drill-record.js';

export interface StageReport {
  name: string;
  status: StepStatus;
  duration_s: number | null;
}

export interface StepReport {
  name: string;
  stage: string;
  type: string;
  status: StepStatus;
  attempts: number;
  duration_s: number | null;
  summary: string | null;
  error: string | null;
}

/** A run's measurements: what the RTO and RPO turned out to be. */
export interface RunReport {
  run_id: string;
  runbook: string;
  status: RunStatus;
  trigger: string | null;
  reason: string | null;
  started_at: number;
  finished_at: number | null;
  /** Wall time from trigger to end, including any time the run spent interrupted. */
  total_s: number | null;
  stages: StageReport[];
  steps: StepReport[];
  /**
   * Stages that did nothing: every step of theirs that ran failed (each under continue_on_error). A run
   * can succeed with some (a fence that could not reach a dead primary is pending, not failed); a
   * required stage among them fails the run. Absent from reports stored before it existed.
   */
  stages_without_effect?: Array<{ stage: string; failed_steps: string[] }>;
  /** The longest TTL of a DNS record the run changed: clients may keep the old answer this long. */
  dns_ttl_s: number | null;
  /** Recovery time as users see it: total time plus the DNS TTL. */
  rto_s: number | null;
  /** Seconds of writes possibly lost (the standby's lag at promotion); null when no step measured it. */
  data_loss_s: number | null;
  error: string | null;
  /** The controller's decision that started the run, as recorded with it; null for an operator's run. */
  decision: RunDecision | null;
  /** An operator's reason for starting the run inside the cooldown (an override), or null. */
  cooldown_override: string | null;
  approvals: Array<{
    gate: string;
    requested_at: number;
    decided_at: number | null;
    decided_by: string | null;
  }>;
  /** A drill (trigger drill) only: what its cleanup removed and whether anything was left. */
  cleanup?: DrillCleanup;
  /**
   * A drill only: the steps it skipped (no drill behaviour for their type or parameters), with why.
   * They took no time, so the drill's RTO leaves them out.
   */
  drill_skipped?: Array<{ step: string; why: string }>;
  /** A drill that skipped steps measured a partial RTO: what a real run's steps would add is not in it. */
  rto_partial?: boolean;
}

/** The stages none of whose steps that ran succeeded, in stage order. */
function stagesWithoutEffect(
  stages: Array<{ name: string }>,
  steps: Array<{ name: string; stage: string; status: StepStatus }>,
): Array<{ stage: string; failed_steps: string[] }> {
  return stages.flatMap((stage) => {
    const ran = steps.filter(
      (s) => s.stage === stage.name && (s.status === 'succeeded' || s.status === 'failed'),
    );
    return ran.length > 0 && ran.every((s) => s.status === 'failed')
      ? [{ stage: stage.name, failed_steps: ran.map((s) => s.name) }]
      : [];
  });
}

/** The steps a drill skipped, from each step's journaled output. */
function drillSkipped(
  steps: Array<{ name: string; output_json: string | null }>,
): Array<{ step: string; why: string }> {
  const skipped: Array<{ step: string; why: string }> = [];
  for (const s of steps) {
    const why = s.output_json
      ? (JSON.parse(s.output_json) as { drill_skipped?: unknown }).drill_skipped
      : undefined;
    if (typeof why === 'string') skipped.push({ step: s.name, why });
  }
  return skipped;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export async function buildReport(
  journal: Journal,
  runId: string,
  override: { status?: RunStatus; finishedAt?: number } = {},
): Promise<RunReport> {
  const run = await journal.requireRun(runId);
  const finished = override.finishedAt ?? run.finished_at;
  const [steps, stages, approvals] = await Promise.all([
    journal.steps(runId),
    journal.stages(runId),
    journal.approvals(runId),
  ]);
  const ttl = steps.reduce<number | null>(
    (m, s) => (s.dns_ttl_s === null ? m : Math.max(m ?? 0, s.dns_ttl_s)),
    null,
  );
  const loss = steps.reduce<number | null>(
    (m, s) => (s.data_loss_s === null ? m : Math.max(m ?? 0, s.data_loss_s)),
    null,
  );
  const total = finished === null ? null : round(finished - run.created_at);
  return {
    run_id: run.id,
    runbook: run.runbook,
    status: override.status ?? run.status,
    trigger: run.trigger,
    reason: run.reason,
    started_at: run.created_at,
    finished_at: finished,
    total_s: total,
    stages: stages.map((s) => ({
      name: s.name,
      status: s.status,
      duration_s:
        s.started_at !== null && s.finished_at !== null ? round(s.finished_at - s.started_at) : null,
    })),
    steps: steps.map((s) => ({
      name: s.name,
      stage: s.stage,
      type: s.type,
      status: s.status,
      attempts: s.attempts,
      duration_s:
        s.started_at !== null && s.finished_at !== null ? round(s.finished_at - s.started_at) : null,
      summary: s.summary,
      error: s.error,
    })),
    stages_without_effect: stagesWithoutEffect(stages, steps),
    dns_ttl_s: ttl,
    rto_s: total === null ? null : round(total + (ttl ?? 0)),
    data_loss_s: loss,
    error: run.error,
    decision: run.decision_json ? (JSON.parse(run.decision_json) as RunDecision) : null,
    cooldown_override: run.cooldown_override,
    approvals: approvals.map((a) => ({
      gate: a.gate,
      requested_at: a.requested_at,
      decided_at: a.decided_at,
      decided_by: a.decided_by,
    })),
    ...(run.trigger === DRILL_TRIGGER ? await drillParts(journal, runId, steps) : {}),
  };
}

async function drillParts(
  journal: Journal,
  runId: string,
  steps: Array<{ name: string; output_json: string | null }>,
): Promise<Pick<RunReport, 'cleanup' | 'drill_skipped' | 'rto_partial'>> {
  const skipped = drillSkipped(steps);
  return {
    cleanup: await drillCleanupOf(journal.db, runId),
    drill_skipped: skipped,
    rto_partial: skipped.length > 0,
  };
}

/** The end-of-run summary printed by the CLI. */
export function formatReport(report: RunReport): string {
  const lines = [
    `run ${report.run_id} (${report.runbook}): ${report.status}${report.error ? ` — ${report.error}` : ''}`,
  ];
  const d = report.decision;
  if (d)
    lines.push(
      `  started by the decision of cycle ${d.cycle_id ?? '?'} (score ${d.score}, ${d.category}, ${d.confidence}): ${d.reason}`,
      ...d.evidence.map((e) => `    ${e.weight > 0 ? '+' : ''}${e.weight}  ${e.source}: ${e.says}`),
    );
  if (report.cooldown_override) lines.push(`  cooldown overridden: ${report.cooldown_override}`);
  for (const a of report.approvals) if (a.decided_by) lines.push(`  approved ${a.gate} by ${a.decided_by}`);
  const width = Math.max(5, ...report.stages.map((s) => s.name.length));
  for (const stage of report.stages) {
    const took = stage.duration_s === null ? '-' : formatSeconds(stage.duration_s);
    lines.push(`  ${stage.name.padEnd(width)}  ${stage.status.padEnd(9)}  ${took}`);
  }
  for (const s of report.stages_without_effect ?? [])
    lines.push(
      `  did nothing: stage ${s.stage} (every step failed, each continue_on_error: ${s.failed_steps.join(', ')})`,
    );
  if (report.total_s !== null) lines.push(`  total time ${formatSeconds(report.total_s)}`);
  if (report.dns_ttl_s !== null && report.rto_s !== null) {
    lines.push(
      `  DNS TTL ${formatSeconds(report.dns_ttl_s)}: clients see the change within ${formatSeconds(report.rto_s)} (RTO)`,
    );
  }
  if (report.rto_partial && report.drill_skipped)
    lines.push(
      `  RTO partial: the drill skipped ${report.drill_skipped.length} step(s), whose time is not in it: ${report.drill_skipped.map((s) => `${s.step} (${s.why})`).join('; ')}`,
    );
  lines.push(
    report.data_loss_s === null
      ? '  data loss: not measured (no database step reported it)'
      : `  data loss estimate: ${formatSeconds(report.data_loss_s)} of writes (RPO)`,
  );
  if (report.cleanup) {
    lines.push(`  drill cleanup: ${report.cleanup.status}`);
    for (const s of report.cleanup.steps)
      lines.push(
        `    ${s.step}: ${s.status}${s.summary ? ` — ${s.summary}` : ''}${s.error ? ` — ${s.error}` : ''}${s.left.length ? ` — left: ${s.left.join(', ')}` : ''}`,
      );
  }
  return lines.join('\n');
}
