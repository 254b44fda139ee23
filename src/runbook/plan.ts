import {
  ConfigError,
  interpolateReferences,
  parseHoldingReferences,
  readConfigDocument,
  runbooksFilePath,
  type PhoenixConfig,
} from '../config/index.js';
import { findReferences, type SecretReference } from '../secrets/index.js';
import {
  replicationModeIssues,
  runbooksFileSchema,
  RUNBOOK_NAMES,
  type RunbookConfig,
  type RunbooksConfig,
  type StepType,
} from '../config/sections/runbooks.js';
import { getAdapter, type StepAdapter } from '../actions/index.js';

import { PlanError, type PlanIssue } from './plan-error.js';

export { PlanError, type PlanIssue };

export interface PlannedStep {
  name: string;
  stage: string;
  type: StepType;
  description?: string;
  params: unknown;
  adapter: StepAdapter<unknown>;
  /** What the step will do, in one line. */
  summary: string;
  timeout_s: number;
  retries: number;
  backoff: { initial_s: number; factor: number; max_s: number };
  approval: boolean;
  continue_on_error: boolean;
  /** A fallback for this earlier step: run only when it failed. */
  only_if_failed?: string;
}

export interface PlannedStage {
  name: string;
  description?: string;
  parallel: boolean;
  approval: boolean;
  /** The run fails when every step of this stage that ran failed (runbooks.*.stages.*.required). */
  required: boolean;
  steps: PlannedStep[];
}

export interface Plan {
  runbook: string;
  description?: string;
  stages: PlannedStage[];
  rpoBudgetS?: number;
}

/** The part of a plan kept in the journal: names and types only, never parameters (they may hold secrets). */
export interface PlanShape {
  runbook: string;
  stages: Array<{ name: string; parallel: boolean; steps: Array<{ name: string; type: string }> }>;
}

export const DEFAULT_STEP_TIMEOUT_S = 600;

/**
 * The configured runbooks: the `runbooks` section, plus (with `runbooks.file`) those
 * in their own YAML file, resolved against the configuration file's directory.
 */
export function loadRunbooks(config: PhoenixConfig, env: NodeJS.ProcessEnv = process.env): RunbooksConfig {
  const section = (config.raw.runbooks ?? {}) as RunbooksConfig;
  if (!section.file) return section;
  const path = runbooksFilePath(config)!;
  let document: unknown;
  try {
    document = readConfigDocument(
      path,
      'file not found; check runbooks.file (relative to the configuration file)',
    );
  } catch (error) {
    if (error instanceof ConfigError) throw new PlanError(path, error.issues);
    throw error;
  }
  const issues: PlanIssue[] = [];
  // With the values `phoenix run` (or plan, failover) read; one left unread refuses only the runbook holding it.
  const input = interpolateReferences(
    document,
    [],
    { env, offline: config.offline, secrets: config.secretValues, keepUnread: true },
    issues,
  );
  const parsed = parseHoldingReferences(runbooksFileSchema, input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ path: issue.path.map(String).join('.'), message: issue.message });
    }
  }
  if (issues.length) throw new PlanError(path, issues);
  const merged: RunbooksConfig = { ...(parsed.data as RunbooksConfig) };
  for (const [key, value] of Object.entries(section)) {
    if (key !== 'file' && value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  // `replication` may sit in the main file and the runbooks in theirs: check them together.
  const mixed = replicationModeIssues(merged);
  if (mixed.length)
    throw new PlanError(
      path,
      mixed.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  return merged;
}

/** The runbook names the configuration defines, in their usual order. */
export function configuredRunbooks(config: PhoenixConfig): string[] {
  const runbooks = loadRunbooks(config);
  return RUNBOOK_NAMES.filter((name) => runbooks[name]);
}

/**
 * A fallback (`only_if_failed`) must name a step that runs before it and whose failure lets the run go
 * on (`continue_on_error`): otherwise the fallback could never run, or would run before its step.
 */
function fallbackIssues(runbook: string, stages: PlannedStage[]): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const before = new Map<string, PlannedStep>();
  stages.forEach((stage, i) => {
    const earlierStages = new Map(before);
    stage.steps.forEach((step, j) => {
      if (step.only_if_failed) {
        const visible = stage.parallel ? earlierStages : before;
        const target = visible.get(step.only_if_failed);
        const path = `runbooks.${runbook}.stages.${i}.steps.${j}.only_if_failed`;
        if (!target)
          issues.push({
            path,
            message: `${step.only_if_failed} is not a step that runs before ${step.name}; name an earlier step (in a parallel stage, one of an earlier stage)`,
          });
        else if (!target.continue_on_error)
          issues.push({
            path,
            message: `${step.only_if_failed} must set continue_on_error: true, or its failure stops the run before the fallback ${step.name} could run`,
          });
      }
      before.set(step.name, step);
    });
  });
  return issues;
}

/** The failover runbooks whose fence steps the controller re-runs once the old primary answers again. */
export const FAILOVER_RUNBOOKS = ['dr_failover', 'region_failover'] as const;
const FENCE_SUFFIX = ':fence';

/** The runbook of a failover's fence steps alone (`dr_failover:fence`). */
export function fenceRunbook(failover: string): string {
  return `${failover}${FENCE_SUFFIX}`;
}

/** The failover runbook a fence runbook comes from, or undefined when `name` is not one. */
export function fencedFailover(name: string): string | undefined {
  const base = name.endsWith(FENCE_SUFFIX) ? name.slice(0, -FENCE_SUFFIX.length) : undefined;
  return base && (FAILOVER_RUNBOOKS as readonly string[]).includes(base) ? base : undefined;
}

/**
 * A failover's fence steps as a runbook of their own, exactly as the failover defines them
 * (parameters, timeouts, retries, approvals), in one stage: what the controller runs when an
 * old primary that could not be fenced during the failover answers again.
 */
function fencePlan(config: PhoenixConfig, failover: string): Plan {
  const base = buildPlan(config, failover);
  const steps = base.stages.flatMap((stage) => stage.steps.filter((step) => step.type === 'fence'));
  if (steps.length === 0)
    throw new PlanError(config.file ?? '<config>', [
      {
        path: `runbooks.${failover}`,
        message: `${failover} has no fence step, so nothing fences the old primary when it answers again; add a step of type fence (see docs/lifecycle.md), or fence it by hand and record it: phoenix site fenced --reason "<how>"`,
      },
    ]);
  return {
    ...base,
    runbook: fenceRunbook(failover),
    description: `the fence steps of ${failover}, re-run when the old primary answers again`,
    stages: [
      {
        name: 'fence',
        parallel: false,
        approval: false,
        // A fence run that cannot reach the old primary yet leaves it pending (the site hook reads the steps).
        required: false,
        steps: steps.map(({ only_if_failed: _fallbackOf, ...step }) => ({ ...step, stage: 'fence' })),
      },
    ],
  };
}

/**
 * Once the secrets were read (`config.secretValues`), a reference still in a runbook is one that could not
 * be: the runbook must not run with the reference's text as a password or a key, so it is refused, naming
 * the secret and why (`phoenix run` reads it again every cycle; the runbook is ready once it can).
 */
function unreadSecretIssues(config: PhoenixConfig, name: string, runbook: RunbookConfig): PlanIssue[] {
  if (!config.secretValues) return [];
  const unread = [...findReferences(runbook).values()].filter(
    (r): r is SecretReference => typeof r !== 'string',
  );
  return unread.map((ref) => {
    const why = config.unreadSecrets?.get(ref.text)?.replace(`${ref.text}: `, '') ?? 'not read';
    return {
      path: `runbooks.${name}`,
      message: `${name} needs ${ref.text}, which could not be read: ${why}; ${name} cannot run until it is readable (phoenix run tries again every cycle)`,
    };
  });
}

/** Resolves one runbook into a plan, validating every step's parameters with its step type's schema. */
export function buildPlan(config: PhoenixConfig, name: string): Plan {
  const failover = fencedFailover(name);
  if (failover) return fencePlan(config, failover);
  const source = config.file ?? '<config>';
  const runbooks = loadRunbooks(config);
  const runbook = (runbooks as Record<string, RunbookConfig | undefined>)[name];
  if (!RUNBOOK_NAMES.includes(name as (typeof RUNBOOK_NAMES)[number]) || !runbook) {
    const known = RUNBOOK_NAMES.filter((n) => runbooks[n]);
    throw new PlanError(source, [
      {
        path: `runbooks.${name}`,
        message: `no runbook named ${name}; ${known.length ? `configured: ${known.join(', ')}` : 'add one under runbooks: (see examples/runbook.yaml)'}`,
      },
    ]);
  }
  const issues: PlanIssue[] = unreadSecretIssues(config, name, runbook);
  const defaults = runbook.defaults ?? {};
  const stages: PlannedStage[] = runbook.stages.map((stage, i) => ({
    name: stage.name,
    description: stage.description,
    parallel: stage.parallel ?? false,
    approval: stage.approval === 'required',
    required: stage.required ?? stage.steps.some((step) => step.type === 'dns'),
    steps: stage.steps.map((step, j) => {
      const adapter = getAdapter(step.type);
      const parsed = parseHoldingReferences(adapter.schema, step.params ?? {});
      const at = `runbooks.${name}.stages.${i}.steps.${j}.params`;
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const path = [at, ...issue.path.map(String)].join('.');
          const message =
            issue.code === 'unrecognized_keys'
              ? `unknown key(s) ${issue.keys.join(', ')} for a ${step.type} step; check the spelling`
              : issue.message;
          issues.push({ path, message: `${message} (step ${step.name})` });
        }
      }
      const backoff = { ...defaults.backoff, ...step.backoff };
      const params = parsed.success ? parsed.data : undefined;
      return {
        name: step.name,
        stage: stage.name,
        type: step.type,
        description: step.description,
        params,
        adapter,
        summary: parsed.success ? adapter.describe(params) : '(invalid parameters)',
        timeout_s: step.timeout ?? defaults.timeout ?? DEFAULT_STEP_TIMEOUT_S,
        retries: step.retries ?? defaults.retries ?? 0,
        backoff: {
          initial_s: backoff.initial ?? 5,
          factor: backoff.factor ?? 2,
          max_s: backoff.max ?? 60,
        },
        approval: step.approval === 'required',
        continue_on_error: step.continue_on_error ?? false,
        ...(step.only_if_failed ? { only_if_failed: step.only_if_failed } : {}),
      };
    }),
  }));
  issues.push(...fallbackIssues(name, stages));
  if (issues.length) throw new PlanError(source, issues);
  return {
    runbook: name,
    description: runbook.description,
    stages,
    rpoBudgetS: config.topology.dr.rpo_budget_s,
  };
}

export function planShape(plan: Plan): PlanShape {
  return {
    runbook: plan.runbook,
    stages: plan.stages.map((s) => ({
      name: s.name,
      parallel: s.parallel,
      steps: s.steps.map((st) => ({ name: st.name, type: st.type })),
    })),
  };
}

/** Why a plan no longer matches the one a run started with, or undefined when it does. */
export function shapeMismatch(recorded: PlanShape, current: PlanShape): string | undefined {
  const flat = (p: PlanShape) =>
    p.stages.flatMap((s) => s.steps.map((st) => `${s.name}/${st.name}:${st.type}`));
  const a = flat(recorded);
  const b = flat(current);
  if (recorded.runbook !== current.runbook) return `the run is ${recorded.runbook}, not ${current.runbook}`;
  if (a.join('\n') === b.join('\n')) return undefined;
  const missing = a.filter((x) => !b.includes(x));
  const added = b.filter((x) => !a.includes(x));
  return `the runbook changed since the run started (missing: ${missing.join(', ') || 'none'}; new: ${added.join(', ') || 'none'}); restore it, or abort the run and start a new one`;
}
