import { z } from 'zod';
import { kubernetesParamsSchema } from '../kubernetes/config.js';

/** Stop the old primary taking writes, so no data splits when it comes back. */
export const fenceParamsSchema = z
  .object({
    /** The old primary database: made read-only (ALTER SYSTEM + reload; needs a superuser). */
    database: z
      .object({
        connection: z.string().min(1),
        /** Also end the sessions open now, so none keeps writing in a transaction begun before. */
        terminate_sessions: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** The old primary's app, scaled to zero replicas. */
    app: kubernetesParamsSchema.optional(),
  })
  .strict()
  .refine((p) => p.database || p.app, { message: 'a fence step needs database, app or both' });

export type FenceParams = z.output<typeof fenceParamsSchema>;
