import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';
import { drillDeploySchema } from '../shared/drill.js';

/** `helm upgrade --install`: deploy the app on the DR cluster. */
export const helmParamsSchema = z
  .object({
    release: z.string().min(1),
    chart: z.string().min(1),
    namespace: z.string().default('default'),
    version: z.string().optional(),
    values_files: z.array(z.string()).default([]),
    set: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    kube_context: z.string().optional(),
    kubeconfig: z.string().optional(),
    create_namespace: z.boolean().default(true),
    /** Wait for the release's resources to be ready, up to `wait_timeout`. */
    wait: z.boolean().default(true),
    wait_timeout: durationSchema.default(300),
    binary: z.string().default('helm'),
    /**
     * In a drill: the namespace the release goes to, and the value (a key of `set`) holding the
     * database URL, which the drill points at the scratch database; false: the release needs no database.
     */
    drill: drillDeploySchema
      .extend({ database_value: z.union([z.string().min(1), z.literal(false)]).optional() })
      .optional(),
  })
  .strict();

export type HelmParams = z.output<typeof helmParamsSchema>;
