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
    steps: z.array(stepSchema).min(1),
  })
  .strict();

export const runbookSchema = z
  .object({
    description: z.string().optional(),
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

/** Every database step that opens the DR database must do it the way the replication mode allows. */
function checkReplicationMode(
  runbooks: Partial<Record<RunbookName, z.output<typeof runbookSchema>>> & { replication?: ReplicationMode },
  ctx: z.RefinementCtx,
): void {
  const mode = runbooks.replication;
  if (!mode) return;
  const expected = DATABASE_ACTION_FOR[mode];
  for (const name of RUNBOOK_NAMES) {
    runbooks[name]?.stages.forEach((stage, i) =>
      stage.steps.forEach((step, j) => {
        const action = step.params?.action;
        if (step.type !== 'database' || action === 'dump_restore' || action === expected) return;
        if (!(Object.values(DATABASE_ACTION_FOR) as unknown[]).includes(action)) return;
        ctx.addIssue({
          code: 'custom',
          path: [name, 'stages', i, 'steps', j, 'params', 'action'],
          message: `runbooks.replication is ${mode}, so the DR database is opened with action "${expected}", not "${String(action)}"; change the action, or runbooks.replication to ${Object.entries(DATABASE_ACTION_FOR).find(([, a]) => a === action)?.[0]}`,
        });
      }),
    );
  }
}

const runbooksObject = z
  .object({
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
