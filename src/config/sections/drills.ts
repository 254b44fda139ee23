import { Cron } from 'croner';
import { z } from 'zod';
import { durationSchema } from './core.js';
import { RUNBOOK_NAMES } from './runbooks.js';

/**
 * Scheduled drills (issue 14): `drills: { schedule: "0 3 * * 1", runbook: dr_failover }`.
 * The cron expression is checked by croner itself, so what validates is what runs.
 */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const drillsSchema = z
  .object({
    /** A five- or six-field cron expression, e.g. "0 3 * * 1" (Mondays 03:00). */
    schedule: z.string().superRefine((pattern, ctx) => {
      try {
        new Cron(pattern, { paused: true, timezone: 'UTC' });
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `"${pattern}" is not a cron expression (${(error as Error).message}); write e.g. "0 3 * * 1" for Mondays 03:00`,
        });
      }
    }),
    runbook: z.enum(RUNBOOK_NAMES).optional(),
    /**
     * readiness: every step's pre-flight check (touches nothing); run: the runbook itself,
     * for a lab or a runbook whose steps target drill resources.
     */
    mode: z.enum(['readiness', 'run']).optional(),
    /** The zone the schedule is read in (IANA name); default UTC. */
    timezone: z
      .string()
      .optional()
      .refine((zone) => zone === undefined || isTimeZone(zone), {
        message: 'is not an IANA time zone; write e.g. UTC or Europe/Paris',
      }),
    /** The recovery time objective a drill's measured RTO is compared with. */
    rto_target: durationSchema.optional(),
  })
  .strict();

export type DrillsConfig = z.output<typeof drillsSchema>;
