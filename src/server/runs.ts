import { defaultConfig, type PhoenixConfig } from '../config/index.js';
import {
  continuedReasons,
  continuedSteps,
  evidenceReport,
  renderHtml,
  stageDidNothing,
  stageLabel,
  UnknownRunError,
} from '../report/index.js';
import { Journal, RunStateError, type RunDecision, type RunRow } from '../runbook/index.js';
import type { RunActionResult, RunControl, RunView, StageStatus } from './ports.js';

interface PlanShape {
  stages: Array<{ name: string; steps: Array<{ name: string }> }>;
}

function parse<T>(json: string | null): T | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}

/**
 * The runbook journal as the API shows it. It reads the store directly, so
 * the dashboard sees runs executed by any process, and approvals and aborts
 * go through the journal, where the run's owner picks them up.
 */
export class JournalRunControl implements RunControl {
  constructor(
    private readonly journal: Journal,
    private readonly config: PhoenixConfig = defaultConfig(),
  ) {}

  async list(limit: number): Promise<RunView[]> {
    const runs = await this.journal.listRuns(limit);
    return Promise.all(runs.map((run) => this.view(run)));
  }

  async get(id: string): Promise<RunView | undefined> {
    const run = await this.journal.getRun(id);
    return run ? this.view(run) : undefined;
  }

  approve(id: string, by: string): Promise<RunActionResult> {
    return this.act(id, () => this.journal.approve(id, by));
  }

  abort(id: string, by: string): Promise<RunActionResult> {
    return this.act(id, () => this.journal.requestAbort(id, by));
  }

  async report(id: string): Promise<{ model: unknown; html: string } | undefined> {
    try {
      const model = await evidenceReport(this.journal.db, this.config, id, Date.now() / 1000);
      return { model, html: renderHtml(model) };
    } catch (error) {
      if (error instanceof UnknownRunError) return undefined;
      throw error;
    }
  }

  /** A stage that went on past a continue_on_error failure: its label and the failures' reasons. */
  private continued(status: string, steps: Parameters<typeof continuedSteps>[1]) {
    const continued = continuedSteps(status, steps);
    if (continued.length === 0) return {};
    return {
      label: stageLabel(status, continued, stageDidNothing(steps)),
      error: continuedReasons(continued),
    };
  }

  private async act(id: string, action: () => Promise<unknown>): Promise<RunActionResult> {
    if (!(await this.journal.getRun(id)))
      return { ok: false, reason: 'not_found', message: `no run ${id}; list runs with GET /api/runs` };
    try {
      await action();
    } catch (error) {
      if (error instanceof RunStateError) return { ok: false, reason: 'conflict', message: error.message };
      throw error;
    }
    return { ok: true, run: (await this.get(id))! };
  }

  private async view(run: RunRow): Promise<RunView> {
    const plan = parse<PlanShape>(run.plan_json);
    const stepStage = new Map<string, string>();
    for (const stage of plan?.stages ?? [])
      for (const step of stage.steps) stepStage.set(step.name, stage.name);
    const gates = new Map<string, { open: boolean; by?: string }>();
    const [approvals, steps, stages] = await Promise.all([
      this.journal.approvals(run.id),
      this.journal.steps(run.id),
      this.journal.stages(run.id),
    ]);
    for (const approval of approvals) {
      const [kind, name] = [
        approval.gate.slice(0, approval.gate.indexOf(':')),
        approval.gate.slice(approval.gate.indexOf(':') + 1),
      ];
      const stage = kind === 'stage' ? name : stepStage.get(name);
      if (!stage) continue;
      const known = gates.get(stage);
      gates.set(stage, {
        open: (known?.open ?? false) || approval.decided_at === null,
        by: approval.decided_by ?? known?.by,
      });
    }
    const stepErrors = new Map<string, string>();
    for (const step of steps)
      if (step.error && !stepErrors.has(step.stage))
        stepErrors.set(step.stage, `${step.name}: ${step.error}`);
    const live = run.status === 'running' || run.status === 'waiting_approval';
    const report = parse<{ rto_s?: number | null; data_loss_s?: number | null }>(run.report_json);
    const withoutEffect = stages
      .filter((stage) => stageDidNothing(steps.filter((s) => s.stage === stage.name)))
      .map((stage) => stage.name);
    return {
      id: run.id,
      runbook: run.runbook,
      status: run.status,
      started_at: run.created_at,
      finished_at: run.finished_at ?? undefined,
      trigger: run.trigger ?? undefined,
      reason: run.reason ?? undefined,
      error: run.error ?? undefined,
      abort_requested_by: run.abort_requested_by ?? undefined,
      decision: parse<RunDecision>(run.decision_json),
      rto_s: report?.rto_s ?? undefined,
      rpo_s: report?.data_loss_s ?? undefined,
      ...(withoutEffect.length ? { stages_without_effect: withoutEffect } : {}),
      stages: stages.map((stage) => {
        const gate = gates.get(stage.name);
        let status: StageStatus = stage.status;
        if (live && gate?.open && (stage.status === 'running' || stage.status === 'pending'))
          status = 'waiting_approval';
        return {
          name: stage.name,
          status,
          started_at: stage.started_at ?? undefined,
          finished_at: stage.finished_at ?? undefined,
          approval: gate !== undefined,
          approved_by: gate && !gate.open ? gate.by : undefined,
          error: stepErrors.get(stage.name),
          ...this.continued(
            stage.status,
            steps.filter((s) => s.stage === stage.name),
          ),
        };
      }),
    };
  }
}
