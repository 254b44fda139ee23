import { z } from 'zod';
import { durationSchema } from './core.js';

/**
 * Runbooks (issue: durable failover runbook). Each runbook is a list of stages run in
 * order; a stage's steps run one after another, or together with `parallel: true`.
 * A step's own parameters sit under `params` and are checked by its step type when the
 * plan is built (`phoenix plan`), so this file stays independent of the step adapters.
 */

export const STEP_TYPES = [
  'health_check',
  'database',
  'storage_sync',
  'dns',
  'terraform',
  'helm',
  'kubernetes',
  'verify',
  'command',
  'http',
  'notify',
  'fence',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const RUNBOOK_NAMES = [
  'dr_failover',
  'region_failover',
  'self_heal',
  'failback',
  'reprotect',
] as const;
export type RunbookName = (typeof RUNBOOK_NAMES)[number];

const backoffSchema = z
  .object({
    /** Wait before the first retry. */
    initial: durationSchema.optional(),
    /** Each further wait is the previous one times this. */
    factor: z.number().min(1).optional(),
    /** The longest wait between two attempts. */
    max: durationSchema.optional(),
  })
  .strict();

export const stepSchema = z
  .object({
    /** Unique inside its runbook: the journal keys attempts by it. */
    name: z.string().min(1),
    type: z.enum(STEP_TYPES),
    description: z.string().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    /** One attempt's limit. */
    timeout: durationSchema.optional(),
    /** Further attempts after a failed one. */
    retries: z.number().int().min(0).max(100).optional(),
    backoff: backoffSchema.optional(),
    /** `required`: a person approves (phoenix approve RUN_ID, the dashboard, or --yes) before the step runs. */
    approval: z.enum(['required', 'none']).optional(),
    /** A failure is recorded and the run goes on. */
    continue_on_error: z.boolean().optional(),
    /**
     * A fallback: runs only when the named earlier step of this runbook failed (that step needs
     * `continue_on_error: true`), and is skipped as not needed otherwise. E.g. Route 53's change API
     * only when the data-plane switch (ARC routing controls) could not move the traffic.
     */
    only_if_failed: z.string().min(1).optional(),
  })
  .strict();

export const stageSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** Run this stage's steps at the same time. */
    parallel: z.boolean().optional(),
    /** `required`: approval gates the whole stage. */
    approval: z.enum(['required', 'none']).optional(),
    /**
     * The run fails, here, when every step of this stage that ran failed (each under continue_on_error):
     * the stage did nothing and what follows assumes it did. Default: true for a stage with a dns step
     * (a failover whose traffic never moved has not failed over), false otherwise (a fence that cannot
     * reach a dead primary is pending and kept trying, not a failed failover).
     */
    required: z.boolean().optional(),
    steps: z.array(stepSchema).min(1),
  })
  .strict();

export const runbookSchema = z
  .object({
    description: z.string().optional(),
    /**
     * self_heal only: the site its steps act on; it runs only while that site serves (absent: the primary,
     * for which runbooks are written). Required by `phoenix validate` when the probes follow the serving site.
     */
    site: z.enum(['primary', 'secondary', 'dr']).optional(),
    /** Step defaults, overridden by each step. */
    defaults: z
      .object({
        timeout: durationSchema.optional(),
        retries: z.number().int().min(0).max(100).optional(),
        backoff: backoffSchema.optional(),
      })
      .strict()
      .optional(),
    stages: z.array(stageSchema).min(1),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const seen = new Map<string, string>();
    runbook.stages.forEach((stage, i) =>
      stage.steps.forEach((step, j) => {
        const where = `${stage.name}`;
        if (seen.has(step.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['stages', i, 'steps', j, 'name'],
            message: `step name "${step.name}" is already used in stage ${seen.get(step.name)}; give every step its own name (the journal keys on it)`,
          });
        }
        seen.set(step.name, where);
      }),
    );
  });

/**
 * How the DR database is kept current, which decides how it is opened at failover: `logical` (a
 * subscriber, the only way from RDS to anything outside RDS; cut over), `physical` (a streaming
 * standby of self-managed PostgreSQL; pg_promote), `azure_replica` (a Flexible Server read replica of
 * another Flexible Server; promoted through Azure Resource Manager).
 */
export const REPLICATION_MODES = ['logical', 'physical', 'azure_replica'] as const;
export type ReplicationMode = (typeof REPLICATION_MODES)[number];
const DATABASE_ACTION_FOR: Record<ReplicationMode, string> = {
  logical: 'cutover',
  physical: 'promote',
  azure_replica: 'azure_promote',
};

type RunbookSet = Partial<Record<RunbookName, z.output<typeof runbookSchema>>> & {
  replication?: ReplicationMode;
};

export interface RunbookFinding {
  path: (string | number)[];
  message: string;
}

const modeOf = (action: unknown) =>
  (Object.entries(DATABASE_ACTION_FOR) as [ReplicationMode, string][]).find(([, a]) => a === action)?.[0];

/** Every database step that opens a database, with where it sits and the replication mode it implies. */
function openingSteps(runbooks: RunbookSet) {
  return RUNBOOK_NAMES.flatMap((name) =>
    (runbooks[name]?.stages ?? []).flatMap((stage, i) =>
      stage.steps.flatMap((step, j) => {
        const mode = step.type === 'database' ? modeOf(step.params?.action) : undefined;
        return mode
          ? [{ runbook: name, i, j, step: step.name, action: String(step.params?.action), mode }]
          : [];
      }),
    ),
  );
}

/**
 * Every database step that opens the DR database must do it the way the replication mode allows
 * (`runbooks.replication`, written beside the runbooks or in the main file). Without it the mode is
 * inferred from the steps, which must then agree. Rule `replication-mode` in docs/runbook-lint.md; it
 * cannot be silenced: the step itself refuses a database in another mode at run time.
 */
export function replicationModeIssues(runbooks: RunbookSet): RunbookFinding[] {
  const steps = openingSteps(runbooks);
  const mode = runbooks.replication;
  if (!mode) {
    const modes = [...new Set(steps.map((s) => s.mode))];
    if (modes.length < 2) return [];
    return [
      {
        path: ['replication'],
        message: `the database steps open databases in different ways (${steps.map((s) => `${s.step}: ${s.action}`).join(', ')}); set runbooks.replication to how the DR database is replicated (logical | physical | azure_replica)`,
      },
    ];
  }
  const expected = DATABASE_ACTION_FOR[mode];
  return steps
    .filter((s) => s.mode !== mode)
    .map((s) => ({
      path: [s.runbook, 'stages', s.i, 'steps', s.j, 'params', 'action'],
      message: `step ${s.step}: runbooks.replication is ${mode}, so the database is opened with action "${expected}", not "${s.action}" (rule replication-mode); change the action, or runbooks.replication to ${s.mode}`,
    }));
}

function checkReplicationMode(runbooks: RunbookSet, ctx: z.RefinementCtx): void {
  for (const issue of replicationModeIssues(runbooks)) ctx.addIssue({ code: 'custom', ...issue });
  // The other runbooks move traffic between the sites and name each site in their steps.
  for (const [name, runbook] of Object.entries(runbooks))
    if (name !== 'self_heal' && (runbook as { site?: string } | undefined)?.site !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [name, 'site'],
        message: `only self_heal names the site it acts on; ${name} acts on the sites its steps name: remove site`,
      });
}

/**
 * The runbook lint's rules (src/runbook/lint.ts, explained in docs/runbook-lint.md). Each finding refuses
 * the configuration unless its rule is silenced by name in `runbooks.lint.silence`.
 */
export const LINT_RULES = [
  'fence-after-traffic',
  'primary-read-during-failover',
  'dns-control-plane-only',
  'database-without-rpo-gate',
  'traffic-stage-not-required',
] as const;
export type LintRule = (typeof LINT_RULES)[number];

const runbooksObject = z
  .object({
    /** Lint rules not applied to these runbooks, by name (each silenced rule is a risk taken knowingly). */
    lint: z
      .object({ silence: z.array(z.enum(LINT_RULES)).default([]) })
      .strict()
      .optional(),
    /** How the DR database is replicated (logical | physical | azure_replica); checked against the database steps. */
    replication: z.enum(REPLICATION_MODES).optional(),
    /** Load the runbooks from their own YAML file (a mapping of the same shape), relative to this config. */
    file: z.string().optional(),
    /** How often `phoenix run` re-runs the runbooks' pre-flight checks as a readiness signal (default 5m). */
    readiness_interval: durationSchema.optional(),
    /** Seconds a running run's owner may stay silent before another process may take it over. */
    stale_after: durationSchema.optional(),
    dr_failover: runbookSchema.optional(),
    region_failover: runbookSchema.optional(),
    self_heal: runbookSchema.optional(),
    failback: runbookSchema.optional(),
    /** After a failover: the serving DR side publishes, the rebuilt primary subscribes (the way back). */
    reprotect: runbookSchema.optional(),
  })
  .strict();

export const runbooksSchema = runbooksObject.superRefine(checkReplicationMode);

/** What a runbooks file (`runbooks.file`) may hold: the runbooks without `file`. */
export const runbooksFileSchema = runbooksObject.omit({ file: true }).superRefine(checkReplicationMode);

export type StepConfig = z.output<typeof stepSchema>;
export type StageConfig = z.output<typeof stageSchema>;
export type RunbookConfig = z.output<typeof runbookSchema>;
export type RunbooksConfig = z.output<typeof runbooksSchema>;
