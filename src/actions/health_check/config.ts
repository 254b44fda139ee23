import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';
import { httpCheckSchema } from '../shared/http.js';

/**
 * Confirm the incident still holds by re-running checks against the primary. When every
 * check passes on every try, the incident has cleared: the run ends cleanly here.
 */
export const healthCheckParamsSchema = z
  .object({
    checks: z.array(httpCheckSchema).min(1),
    /** Tries, `interval` apart; the incident counts as cleared only if all pass on every try. */
    tries: z.number().int().min(1).default(3),
    interval: durationSchema.default(5),
  })
  .strict();

export type HealthCheckParams = z.output<typeof healthCheckParamsSchema>;
