import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';
import { httpCheckSchema } from '../shared/http.js';

/** HTTP checks against the DR site, repeated until they all pass `consecutive` times in a row. */
export const verifyParamsSchema = z
  .object({
    checks: z.array(httpCheckSchema).min(1),
    consecutive: z.number().int().min(1).default(2),
    interval: durationSchema.default(2),
    /** Give up after this long (the step's timeout also applies). */
    max_wait: durationSchema.default(300),
    /** In a drill, check these (the drill deployment's endpoint) instead of `checks`. */
    drill: z
      .object({ checks: z.array(httpCheckSchema).min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type VerifyParams = z.output<typeof verifyParamsSchema>;
