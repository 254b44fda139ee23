import { z } from 'zod';
import { parseDuration, ROOT_CAUSE_CATEGORIES } from '../../core/index.js';

/** A duration written as seconds or `45s`, `5m`, `1h30m`; parsed to seconds. */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a duration; write seconds or e.g. 45s, 5m, 1h30m`,
    });
    return z.NEVER;
  }
});

/** Seconds as the range message shows them: `1d`, `1h`, `30s`, `0.1s`. */
function secondsLabel(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

/**
 * A duration that must lie within [min, max] seconds. Zero, negative and absurd values are refused
 * at validation instead of turning into a busy loop or a timer that never fires.
 */
export function durationWithin(min: number, max: number) {
  return durationSchema.superRefine((seconds, ctx) => {
    if (seconds >= min && seconds <= max) return;
    ctx.addIssue({
      code: 'custom',
      message: `${seconds} s is out of range; allowed ${secondsLabel(min)} to ${secondsLabel(max)}`,
    });
  });
}

export const siteSchema = z
  .object({
    cloud: z.string().min(1),
    region: z.string().optional(),
    services: z.array(z.string()).optional(),
    rpo_budget_s: z.number().nonnegative().optional(),
  })
  .catchall(z.unknown());

export const topologySchema = z
  .object({
    primary: siteSchema,
    secondary: siteSchema.optional(),
    dr: siteSchema,
    edge: z
      .object({
        provider: z.string().optional(),
        fronts: z.array(z.enum(['primary', 'secondary', 'dr'])).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const weightEntrySchema = z
  .object({
    range: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
    ok: z.number().int().min(0).optional(),
    degraded: z.number().int().min(0).optional(),
    error: z.number().int().min(0).optional(),
    unknown: z.number().int().min(0).optional(),
  })
  .strict();

export const scoringSchema = z
  .object({
    signals: z.record(z.string(), weightEntrySchema).optional(),
    levels: z
      .object({
        self_heal: z.number().int().min(0).optional(),
        region_failover: z.number().int().min(0).optional(),
        dr_failover: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const maintenanceWindowSchema = z
  .object({
    start: z.string().describe('ISO 8601 time'),
    end: z.string().describe('ISO 8601 time'),
    reason: z.string().optional(),
  })
  .strict();

export const decisionSchema = z
  .object({
    analyzer: z.enum(['evidence', 'threshold', 'llm', 'ensemble']).optional(),
    /** How long a primary-cloud failure must persist before a region failover (inside the primary cloud). */
    confirm_window_region: durationSchema.optional(),
    /** How long a primary-cloud failure must persist before a cross-cloud DR failover (RTO, failback, data at stake). */
    confirm_window_dr: durationSchema.optional(),
    /** Compatible alias: sets both windows where the specific keys are not given. */
    confirm_window: durationSchema.optional(),
    /** How far back the analyzer reads the signal history. */
    history_window: durationSchema.optional(),
    /** After a DR or region failover, no other failover for this long. */
    cooldown: durationWithin(0, 30 * 86400).optional(),
    kill_switch: z.boolean().optional(),
    maintenance_windows: z.array(maintenanceWindowSchema).optional(),
    /** Categories allowed to trigger DR (primary-cloud and primary-edge infrastructure by default). */
    dr_categories: z.array(z.enum(ROOT_CAUSE_CATEGORIES)).optional(),
  })
  .strict();

export const storeSchema = z
  .object({
    driver: z.enum(['sqlite', 'postgres']).optional(),
    path: z.string().optional(),
    url: z.string().optional(),
    /** PostgreSQL schema holding this store's tables (one schema per installation). */
    schema: z.string().optional(),
    retention: durationWithin(3600, 10 * 365 * 86400).optional(),
    /** How long the controller lease lasts unrenewed; renewed every third of it. */
    lease_ttl: durationWithin(1, 600).optional(),
  })
  .strict();
