import type { PhoenixConfig } from '../config/index.js';
import type { PreflightCheck } from '../actions/index.js';
import { buildPlan, configuredRunbooks, FAILOVER_RUNBOOKS, PlanError, type Plan } from './plan.js';

export interface StepReadiness {
  stage: string;
  step: string;
  type: string;
  /** What the step will do. */
  summary: string;
  approval: boolean;
  checks: PreflightCheck[];
  ok: boolean;
}

export interface RunbookReadiness {
  runbook: string;
  ok: boolean;
  /** Problems with the runbook itself (invalid parameters, unreadable file). */
  problems: string[];
  steps: StepReadiness[];
}

/** Runs every step's pre-flight checks for one plan, all steps at once. */
export async function checkPlan(
  plan: Plan,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunbookReadiness> {
  const steps = plan.stages.flatMap((stage) => stage.steps);
  const results = await Promise.all(
    steps.map(async (step): Promise<StepReadiness> => {
      let checks: PreflightCheck[];
      try {
        checks = await step.adapter.preflight(step.params, {
          rpoBudgetS: plan.rpoBudgetS,
          env: options.env ?? process.env,
          timeoutMs: options.timeoutMs ?? 3000,
        });
      } catch (error) {
        checks = [{ check: 'pre-flight', ok: false, detail: (error as Error).message }];
      }
      return {
        stage: step.stage,
        step: step.name,
        type: step.type,
        summary: step.summary,
        approval: step.approval,
        checks,
        ok: checks.every((c) => c.ok),
      };
    }),
  );
  return { runbook: plan.runbook, ok: results.every((r) => r.ok), problems: [], steps: results };
}

/**
 * The runbooks whose readiness matters while `active_site` serves: all of them while the primary
 * does; otherwise not the failovers (nothing fails over from a site that is not the primary), so
 * readiness tells about the way back (reprotect, failback) and self-healing the serving site.
 */
export function runbooksForSite(configured: string[], active_site: string): string[] {
  if (active_site === 'primary') return configured;
  return configured.filter((r) => !(FAILOVER_RUNBOOKS as readonly string[]).includes(r));
}

/**
 * The readiness signal: every configured runbook's pre-flight checks (credentials,
 * endpoints, binaries, replication lag against the RPO budget, DR site health). The
 * controller runs it every `runbooks.readiness_interval` so a broken runbook is found
 * before the disaster. Never throws.
 */
export async function readiness(
  config: PhoenixConfig,
  options: { runbooks?: string[]; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunbookReadiness[]> {
  let names: string[];
  try {
    names = options.runbooks ?? configuredRunbooks(config);
  } catch (error) {
    return [{ runbook: '*', ok: false, problems: [(error as Error).message], steps: [] }];
  }
  const out: RunbookReadiness[] = [];
  for (const name of names) {
    try {
      out.push(await checkPlan(buildPlan(config, name), options));
    } catch (error) {
      const problems = error instanceof PlanError ? error.message.split('\n') : [(error as Error).message];
      out.push({ runbook: name, ok: false, problems, steps: [] });
    }
  }
  return out;
}

/** The plan as text: every stage and step with its pre-flight checks. */
export function formatReadiness(result: RunbookReadiness, plan?: Plan): string {
  const lines = [`runbook ${result.runbook}: ${result.ok ? 'ready' : 'NOT ready'}`];
  for (const problem of result.problems) lines.push(`  ✗ ${problem}`);
  let stage = '';
  for (const step of result.steps) {
    if (step.stage !== stage) {
      stage = step.stage;
      const planned = plan?.stages.find((s) => s.name === stage);
      const flags = [
        planned?.parallel ? 'parallel' : '',
        planned?.approval ? 'approval required' : '',
        // Said because the default depends on the steps (a dns step makes the stage required).
        planned?.required ? 'required: the run fails if every step fails' : '',
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(`  stage ${stage}${flags ? ` (${flags})` : ''}`);
    }
    lines.push(
      `    ${step.ok ? '✓' : '✗'} ${step.step} [${step.type}] ${step.summary}${step.approval ? ' (approval required)' : ''}`,
    );
    for (const check of step.checks)
      lines.push(
        `        ${check.ok ? (check.warn ? 'WARN' : 'ok  ') : 'FAIL'} ${check.check}: ${check.detail}`,
      );
  }
  return lines.join('\n');
}
